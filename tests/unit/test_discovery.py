from datetime import UTC, datetime

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.discovery import PersonRecords, apply_person_event, discovery_score
from tests.factories import cloud_event, resident_id

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def records_after(*bills):
    records, person = PersonRecords(), None
    for date, paid in bills:
        data = {
            "member_id": resident_id(),
            "date": date,
            "total_cost": paid,
            "out_of_pocket": paid,
            "region_code": "532328102003",
        }
        event = validate_event(cloud_event("medical.expense.incurred", data), b"k")
        records, person = apply_person_event(apply_person_event(records, event), event), event.person
    return records, person


def test_costs_exactly_at_the_absolute_trigger_raise_nothing():
    records, person = records_after(("2025-02-10", 26000))
    assert discovery_score(records, person, POLICIES, NOW) is None


def test_costs_above_the_trigger_raise_one_yellow_discovery_score_for_the_persons_township():
    records, person = records_after(("2025-02-10", 26000), ("2025-03-01", 0.01))
    score = discovery_score(records, person, POLICIES, NOW)
    assert score.level == "yellow" and score.region_code == "532328102003"
    assert score.household_id.startswith("unregistered-") and score.proposed_category == "marginal"
    assert discovery_score(records.model_copy(update={"scored": True}), person, POLICIES, NOW) is None


def test_bills_older_than_twelve_months_do_not_count():
    records, person = records_after(("2024-01-10", 20000), ("2025-03-01", 7000))
    assert discovery_score(records, person, POLICIES, NOW) is None
