"""Each model feature means what its name says, by name and in the stream's positional rows alike."""

import pytest

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.features import FEATURES, feature_matrix, feature_values, household_features, values_matrix
from services.scoring.state import HouseholdState, apply_event
from tests.factories import cloud_event, income, registration

POLICY = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025)
LINE = 8700


def household() -> HouseholdState:
    """Six members (two can work, one disabled, three ill, four at school), two shocks, two stays, three pleas."""
    events = [
        registration(
            "F1",
            72000,
            members=6,
            disabled_members=1,
            chronic_ill_members=3,
            students=4,
            housing_safe=False,
            category="ordinary",
            time="2024-01-05T08:00:00+08:00",
        ),
        cloud_event(
            "disaster.loss.reported",
            {
                "household_id": "F1",
                "date": "2024-03-10",
                "hazard": "flood",
                "house_damage": "minor",
                "economic_loss": 999,
            },
            time="2024-03-10T08:00:00+08:00",
        ),
        cloud_event(
            "disaster.loss.reported",
            {
                "household_id": "F1",
                "date": "2025-02-10",
                "hazard": "hail",
                "house_damage": "none",
                "economic_loss": 3000,
            },
            time="2025-02-10T08:00:00+08:00",
        ),
        cloud_event(
            "medical.expense.incurred",
            {"household_id": "F1", "date": "2025-04-02", "total_cost": 9000, "out_of_pocket": 5220, "inpatient": True},
            time="2025-04-02T08:00:00+08:00",
        ),
        cloud_event(
            "medical.expense.incurred",
            {"household_id": "F1", "date": "2025-05-20", "total_cost": 1500, "out_of_pocket": 1000, "inpatient": True},
            time="2025-05-20T08:00:00+08:00",
        ),
        *(
            cloud_event(
                "assistance.requested",
                {"household_id": "F1", "date": f"2025-0{m}-01", "reason": "hospital bills"},
                time=f"2025-0{m}-01T08:00:00+08:00",
            )
            for m in (4, 5, 6)
        ),
        *(income("F1", f"2025-{m:02d}", 5000) for m in range(1, 7)),
    ]
    state = HouseholdState()
    for raw in events:
        state = apply_event(state, validate_event(raw, b"k"))
    return state


def test_every_feature_of_a_household_means_what_its_name_says():
    features = household_features(household(), POLICY)
    assert features is not None and list(features) == list(FEATURES)
    assert features["members"] == 6
    assert features["labour_share"] == pytest.approx(2 / 6)
    assert features["disabled_share"] == pytest.approx(1 / 6)
    assert features["chronic_share"] == pytest.approx(3 / 6)
    assert features["students"] == 4
    assert features["dependants_per_labourer"] == pytest.approx(4 / 2)
    assert features["house_or_water_unsafe"] == 1
    assert features["exited_household"] == 0
    assert features["medical_to_line"] == pytest.approx((5220 + 1000) / (LINE * 6))
    assert features["inpatient_12m"] == 2
    assert features["applications_12m"] == 3
    assert features["shocks_12m"] == 1  # the 2025 hail; the 2024 flood is older than the 12 months
    assert features["shocks_24m"] == 2
    income_12m = 6 * 5000 + 6 * 6000  # six reported months, the rest the registered 72,000 a year
    assert features["disaster_loss_to_income"] == pytest.approx(3000 / income_12m)
    assert features["income_to_line"] == pytest.approx(income_12m / 6 / LINE)
    assert features["months_reported"] == 6
    assert features["income_trend_3m"] == 0


def test_the_streams_positional_rows_are_the_named_features_in_any_models_column_order():
    state = household()
    named, values = household_features(state, POLICY), feature_values(state, POLICY)
    assert named is not None and values is not None
    for columns in (list(FEATURES), ["students", "income_to_line", "shocks_24m"]):
        assert values_matrix([values, values], columns).tolist() == feature_matrix([named, named], columns).tolist()


def test_a_household_without_a_registration_has_no_features():
    assert feature_values(HouseholdState(), POLICY) is None
    assert household_features(HouseholdState(), POLICY) is None
