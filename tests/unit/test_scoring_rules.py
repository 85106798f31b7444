import base64
from datetime import UTC, datetime

import msgspec

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.rules import assess
from services.scoring.scorer import score_event
from services.scoring.state import HouseholdState, apply_event, decode_state, encode_state
from tests.factories import cloud_event, income, registration

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def events(*raws):
    return [validate_event(raw, b"k") for raw in raws]


def state_after(*raws) -> HouseholdState:
    state = HouseholdState()
    for event in events(*raws):
        state = apply_event(state, event)
    return state


def level_of(state: HouseholdState) -> str:
    assessment = assess(state, POLICIES.for_region("532328101001", 2025))
    assert assessment is not None
    return assessment.level


def test_a_household_exactly_at_the_line_is_not_flagged():
    assert level_of(state_after(registration("H1", 8700 * 4, members=4))) == "green"


def test_a_household_one_yuan_a_year_below_the_line_is_red():
    assert level_of(state_after(registration("H1", 8700 * 4 - 4, members=4))) == "red"


def test_the_reason_gives_the_figures_in_chinese_and_english():
    state = state_after(registration("H1", 9600, members=4))
    reason = assess(state, POLICIES.for_region("532328101001", 2025)).reasons[0]
    assert reason.code == "income_below_threshold"
    assert reason.evidence["per_capita_income"] == 2400
    assert "9,600 yuan for 4 people = 2,400 per person, below the 8,700 line" in reason.message_en
    assert "人均2,400元，低于监测线8,700元" in reason.message_zh


def test_reported_months_replace_the_estimate_from_the_registered_income():
    state = state_after(registration("H1", 12000 * 2, members=2), income("H1", "2025-03", 0))
    figures = assess(state, POLICIES.for_region("532328101001", 2025)).figures
    assert figures.months_reported == 1
    assert figures.income_12m == 22000


def test_a_correction_for_the_same_month_and_source_replaces_the_earlier_amount():
    state = state_after(
        registration("H1", 0, members=1),
        income("H1", "2025-03", 500, time="2025-03-28T00:00:00Z"),
        income("H1", "2025-03", 900, time="2025-04-02T00:00:00Z"),
    )
    assert assess(state, POLICIES.for_region("532328101001", 2025)).figures.income_12m == 900


def test_a_late_arriving_older_report_does_not_overwrite_a_newer_correction():
    state = state_after(
        registration("H1", 0, members=1),
        income("H1", "2025-03", 900, time="2025-04-02T00:00:00Z"),
        income("H1", "2025-03", 500, time="2025-03-28T00:00:00Z"),
    )
    assert assess(state, POLICIES.for_region("532328101001", 2025)).figures.income_12m == 900


def test_different_sources_in_one_month_add_up():
    state = state_after(
        registration("H1", 0, members=1),
        income("H1", "2025-03", 500),
        income("H1", "2025-03", 300, source="agriculture"),
    )
    assert assess(state, POLICIES.for_region("532328101001", 2025)).figures.income_12m == 800


def test_the_window_is_the_last_twelve_months_up_to_the_latest_report():
    state = state_after(
        registration("H1", 0, members=1),
        income("H1", "2024-04", 1000),  # thirteen months before 2025-04: outside the window
        income("H1", "2024-05", 100),  # the first month inside it
        income("H1", "2025-04", 10),
    )
    assert assess(state, POLICIES.for_region("532328101001", 2025)).figures.income_12m == 110


def test_applying_the_same_event_twice_changes_nothing():
    registered, report = events(registration("H1", 9600), income("H1", "2025-03", 500))
    once = apply_event(apply_event(HouseholdState(), registered), report)
    assert apply_event(once, report) is once


def test_an_older_registration_arriving_late_does_not_replace_the_newer_one():
    newer = registration("H1", 50000, time="2025-05-01T00:00:00Z")
    older = registration("H1", 1000, time="2025-01-01T00:00:00Z")
    assert state_after(newer, older).profile.annual_net_income == 50000


def test_medical_bills_are_kept_once_per_event():
    bill = cloud_event(
        "medical.expense.incurred", {"household_id": "H1", "date": "2025-03-01", "total_cost": 9, "out_of_pocket": 5}
    )
    (event,) = events(bill)
    once = apply_event(HouseholdState(), event)
    assert apply_event(once, event) is once
    assert len(once.medical) == 1


def test_a_score_is_emitted_only_when_the_assessment_changes():
    registered, same_again, drop = events(
        registration("H1", 9600, members=4), registration("H1", 9600, members=4), income("H1", "2025-03", 100)
    )
    state, first = score_event(HouseholdState(), registered, POLICIES, NOW)
    assert first is not None and first.level == "red" and first.policy_version == "2025.2"
    assert first.scoring_mode == "rules_only" and first.model_version is None
    state, repeat = score_event(state, registered, POLICIES, NOW)
    assert repeat is None
    state, unchanged = score_event(state, same_again, POLICIES, NOW)
    assert unchanged is None  # same figures under a new event id
    state, changed = score_event(state, drop, POLICIES, NOW)
    assert changed is not None and changed.caused_by == [same_again.key, drop.key]


def test_a_score_lists_every_event_applied_since_the_last_score():
    registered, report = events(registration("H1", 96000, members=4), income("H1", "2025-03", 9000))
    state, first = score_event(HouseholdState(), registered, POLICIES, NOW)
    assert first is not None and first.level == "green"
    _, second = score_event(state, report, POLICIES, NOW)
    assert second is not None and second.caused_by == [report.key]


def test_events_before_registration_wait_for_the_profile():
    (report,) = events(income("H1", "2025-03", 100))
    state, score = score_event(HouseholdState(), report, POLICIES, NOW)
    assert score is None and len(state.incomes) == 1


def a_year_of_incomes() -> HouseholdState:
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
    return state_after(
        registration("HS1", 40000, members=4), *(income("HS1", m, 3400 + i) for i, m in enumerate(months))
    )


def test_a_stored_state_reads_back_the_same_in_an_eighth_of_its_json():
    state = a_year_of_incomes()
    stored = encode_state(state)
    assert decode_state(stored) == state
    assert len(stored) * 8 < len(msgspec.json.encode(state))  # zlib, before: a seventh


# A state as the previous version (pydantic models) stored it: compressed, and as plain JSON before that.
EARLIER_COMPRESSED = base64.b64decode(
    "eD9fbThuvZXNCsIwEITfpWcLu5sE1Ofw3kOpIJamYAuC+O7OJiKpacUfsMcQdrOzM18vy1l1RoysmZiIUewRGjsJrrxO7kxELeHTCf6dUyFxJ"
    "ZmSeBcUelOqqEMQjHUhieNQ0ZYs2X4MZpzbUbiti2Ld0Of9JRpCx+C8qVtoqrd/aGpAlAmznqyU6GPVpHfQRLXRWJ2YIGfyQ+jGtl0Vgx+A8d"
    "qf4ORNHMKPQ+X3Ve/rY4NTg1M3z71D1wM4MHqx1WoZ/fD277GkPDrj/Rl5gpOK6w0fJgc7"
)
EARLIER_JSON = (
    b'{"profile":{"region_code":"532328101001","members":4,"labourers":2,"category":"poverty_exited",'
    b'"annual_net_income":40000.0,"disabled_members":0,"chronic_ill_members":0,"students":0,"housing_safe":true,'
    b'"water_safe":true,"registered_at":"2025-03-01T08:00:00+08:00","event_key":"/civil-affairs/532328#evt-1"},'
    b'"incomes":{"2024-12|wage":{"amount":3400.0,"reported_at":"2024-12-28T18:00:00+08:00",'
    b'"event_key":"/civil-affairs/532328#evt-2"},"2025-01|wage":{"amount":3500.0,'
    b'"reported_at":"2025-01-28T18:00:00+08:00","event_key":"/civil-affairs/532328#evt-3"}},'
    b'"medical":{"/civil-affairs/532328#evt-4":{"date":"2025-01-20","figures":{"region_code":null,'
    b'"total_cost":900.0,"out_of_pocket":300.5,"illness":"chronic","inpatient":null}}},"disasters":{},'
    b'"applications":{},"unscored_events":[],"last_fingerprint":"red|x","latest_month":"2025-03"}'
)


def test_states_stored_by_the_previous_version_still_read_compressed_or_as_plain_json():
    compressed, plain = decode_state(EARLIER_COMPRESSED), decode_state(EARLIER_JSON)
    assert compressed == plain
    assert plain.incomes["2025-01|wage"].amount == 3500 and plain.last_fingerprint == "red|x"
    policy = POLICIES.for_region("532328101001", 2025)
    assert assess(plain, policy).figures.medical_out_of_pocket_12m == 300.5


def test_no_stored_state_is_a_new_household():
    assert decode_state(None) == HouseholdState()
