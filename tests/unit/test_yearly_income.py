"""A whole year's income is a first-class report: scoring applies it as that year's income where no month says more."""

import pytest

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import InvalidEvent, validate_event
from services.scoring.features import household_features
from services.scoring.rules import assess, household_figures
from services.scoring.state import HouseholdState, apply_event, decode_state, encode_state
from tests.factories import income, registration

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
POLICY = POLICIES.for_region("532328101001", 2025)


def state_after(*raws) -> HouseholdState:
    state = HouseholdState()
    for raw in raws:
        state = apply_event(state, validate_event(raw, b"k"))
    return state


def yearly(hid: str, year: str, amount: float, source: str = "wage") -> dict:
    return income(hid, year, amount, source, time=f"{year}-12-31T12:00:00+08:00")


def test_a_yearly_report_is_that_years_income_for_every_month():
    state = state_after(registration("Y1", 99999, members=4), yearly("Y1", "2025", 30000))
    figures = household_figures(state, POLICY)
    assert state.latest_month == "2025-12"
    assert figures is not None and figures.income_12m == 30000 and figures.months_reported == 12
    assert figures.per_capita_income == 7500
    assessment = assess(state, POLICY)
    assert assessment is not None and assessment.level == "red"  # 7,500 a person is below Yunnan's 8,700


def test_a_monthly_report_of_the_same_source_replaces_that_months_share_of_the_year():
    state = state_after(registration("Y2", 0, members=2), yearly("Y2", "2025", 24000), income("Y2", "2025-06", 500))
    figures = household_figures(state, POLICY)
    assert figures is not None and figures.income_12m == 24000 - 2000 + 500


def test_yearly_reports_of_other_sources_add_up():
    state = state_after(
        registration("Y3", 0, members=1), yearly("Y3", "2025", 6000), yearly("Y3", "2025", 4000, "transfer")
    )
    figures = household_figures(state, POLICY)
    assert figures is not None and figures.income_12m == 10000


def test_the_year_before_and_the_change_are_features_of_yearly_reports():
    state = state_after(registration("Y4", 0, members=2), yearly("Y4", "2024", 40000), yearly("Y4", "2025", 30000))
    features = household_features(state, POLICY)
    assert features is not None
    assert features["year_before_to_line"] == pytest.approx(20000 / 8700)
    assert features["income_change_12m"] == pytest.approx(-0.25)
    assert features["income_to_line"] == pytest.approx(15000 / 8700)


def test_a_stored_state_with_yearly_reports_reads_back_and_drops_years_out_of_the_kept_window():
    state = state_after(registration("Y5", 0, members=1), *(yearly("Y5", str(y), 9000 + y) for y in range(2021, 2026)))
    assert sorted(state.incomes) == ["2024|wage", "2025|wage"]
    assert decode_state(encode_state(state)) == state


def test_an_income_period_is_a_month_or_a_year_and_anything_else_is_rejected_naming_the_field():
    assert validate_event(income("Y6", "2025", 100, time="2025-12-31T00:00:00+08:00"), b"k").data.period == "2025"
    for period in ("25", "2025-13", "2025-1", "202501"):
        with pytest.raises(InvalidEvent) as rejected:
            validate_event(income("Y6", period, 100, time="2025-03-01T00:00:00+08:00"), b"k")
        assert rejected.value.errors[0].field.endswith("period")


def test_moving_on_drops_monthly_and_yearly_incomes_older_than_the_kept_two_years_and_nothing_newer():
    state = state_after(
        registration("Y6", 0, members=1),
        income("Y6", "2023-11", 700),
        yearly("Y6", "2023", 5000, "transfer"),
        yearly("Y6", "2024", 5200, "transfer"),
        income("Y6", "2024-02", 800),
        income("Y6", "2025-12", 900),  # the kept months are now 2024-01 to 2025-12
    )
    assert sorted(state.incomes) == ["2024-02|wage", "2024|transfer", "2025-12|wage"]
