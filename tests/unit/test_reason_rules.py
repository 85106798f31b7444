"""Every reason code at its edges, with the shipped 2025 policy for Yuanmou county (line 8,700)."""

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.rules import assess
from services.scoring.state import HouseholdState, apply_event
from tests.factories import cloud_event, income, registration

POLICY = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025)
REFERENCE = 23119  # 2024 national rural disposable income per person, policy/2025.toml


def assessed(*raws):
    state = HouseholdState()
    for raw in raws:
        state = apply_event(state, validate_event(raw, b"k"))
    return assess(state, POLICY)


def codes(assessment) -> dict[str, str]:
    return {reason.code: reason.level for reason in assessment.reasons}


def bill(household_id: str, date: str, paid: float):
    data = {"household_id": household_id, "date": date, "total_cost": paid * 2, "out_of_pocket": paid}
    return cloud_event("medical.expense.incurred", data, time=f"{date}T10:00:00+08:00")


def disaster(household_id: str, date: str, damage: str, loss: float = 0):
    data = {
        "household_id": household_id,
        "date": date,
        "hazard": "flood",
        "house_damage": damage,
        "economic_loss": loss,
    }
    return cloud_event("disaster.loss.reported", data, time=f"{date}T10:00:00+08:00")


def application(household_id: str, date: str):
    data = {"household_id": household_id, "date": date, "reason": "孩子上学没钱"}
    return cloud_event("assistance.requested", data, time=f"{date}T10:00:00+08:00")


def test_income_after_medical_costs_below_the_line_is_red():
    result = assessed(registration("H", 9000 * 4, members=4), bill("H", "2025-03-05", 1201))
    assert codes(result) == {"income_after_rigid_spending_below_threshold": "red"}
    assert result.figures.per_capita_after_rigid_spending == (36000 - 1201) / 4


def test_income_after_medical_costs_exactly_at_the_line_is_not_flagged():
    assert codes(assessed(registration("H", 9000 * 4, members=4), bill("H", "2025-03-05", 1200))) == {}


def test_medical_burden_for_an_exited_household_starts_above_ten_thousand_yuan():
    rich = registration("H", 100000 * 2, members=2)
    assert codes(assessed(rich, bill("H", "2025-03-05", 10000))) == {}
    burdened = assessed(rich, bill("H", "2025-03-05", 10000.01))
    assert codes(burdened) == {"medical_burden": "yellow"}
    assert "10,000" in burdened.reasons[0].message_en and "医疗自付" in burdened.reasons[0].message_zh


def test_medical_burden_for_an_ordinary_household_starts_above_the_reference_income():
    rich = registration("H", 100000 * 2, members=2, category="ordinary")
    assert codes(assessed(rich, bill("H", "2025-03-05", REFERENCE))) == {}
    assert codes(assessed(rich, bill("H", "2025-03-05", REFERENCE + 1))) == {"medical_burden": "yellow"}


def test_a_bill_in_the_first_month_of_the_window_counts_and_one_a_month_earlier_does_not():
    rich = registration("H", 100000 * 2, members=2, time="2025-12-01T00:00:00Z")
    assert codes(assessed(rich, bill("H", "2025-01-01", 20000))) == {"medical_burden": "yellow"}
    assert codes(assessed(rich, bill("H", "2024-12-31", 20000))) == {}


def recent_months(amounts, earlier=None):
    events = [registration("H", 12 * 1000 * 2, members=1)]
    for month, amount in zip(("2025-04", "2025-05", "2025-06"), amounts, strict=True):
        events.append(income("H", month, amount))
    for month, amount in zip(("2024-04", "2024-05", "2024-06"), earlier or (), strict=False):
        events.append(income("H", month, amount))
    return assessed(*events)


def test_an_income_drop_of_exactly_the_policy_ratio_is_flagged():
    result = recent_months([1400, 1400, 1400], earlier=[2000, 2000, 2000])
    assert codes(result) == {"income_drop": "yellow"}
    assert result.reasons[0].evidence["drop_ratio"] == 0.3


def test_an_income_drop_just_under_the_ratio_is_not_flagged():
    assert codes(recent_months([1401, 1400, 1400], earlier=[2000, 2000, 2000])) == {}


def test_without_last_years_reports_the_drop_is_measured_against_the_registered_income():
    result = recent_months([1000, 1000, 1000])  # registered 24,000 a year = 6,000 a quarter
    assert codes(result) == {"income_drop": "yellow"}
    assert result.reasons[0].evidence["earlier_income"] == 6000


def test_a_collapsed_house_is_red_and_a_severely_damaged_one_yellow():
    rich = registration("H", 100000 * 2, members=2)
    assert codes(assessed(rich, disaster("H", "2025-03-02", "collapsed"))) == {"disaster_house_damage": "red"}
    assert codes(assessed(rich, disaster("H", "2025-03-02", "severe"))) == {"disaster_house_damage": "yellow"}
    assert codes(assessed(rich, disaster("H", "2025-03-02", "minor"))) == {}


def test_disaster_losses_of_half_the_yearly_income_are_flagged():
    household = registration("H", 20000 * 2, members=2)
    assert codes(assessed(household, disaster("H", "2025-03-02", "none", 20000))) == {
        "disaster_economic_loss": "yellow"
    }
    assert codes(assessed(household, disaster("H", "2025-03-02", "none", 19999.99))) == {}


def test_an_application_from_the_household_always_gets_a_visit():
    result = assessed(registration("H", 100000, members=2), application("H", "2025-03-09"))
    assert codes(result) == {"self_declared": "yellow"}
    assert result.level == "yellow"


def test_the_level_is_the_highest_of_the_reasons():
    result = assessed(registration("H", 9600, members=4), application("H", "2025-03-09"))
    assert result.level == "red"
    assert codes(result) == {"income_below_threshold": "red", "self_declared": "yellow"}


def test_an_exited_household_at_risk_is_proposed_as_unstable_exited():
    assert assessed(registration("H", 9600, members=4)).proposed_category == "unstable_exited"


def test_an_ordinary_household_below_the_line_is_proposed_as_marginal():
    assert assessed(registration("H", 9600, members=4, category="ordinary")).proposed_category == "marginal"


def test_an_ordinary_household_above_the_line_hit_by_illness_is_proposed_as_sudden_hardship():
    result = assessed(registration("H", 100000, members=2, category="ordinary"), bill("H", "2025-03-05", 30000))
    assert result.proposed_category == "sudden_hardship"


def test_a_household_with_no_risk_gets_no_category():
    assert assessed(registration("H", 100000, members=2)).proposed_category is None


def policy_with(tmp_path, extra: str):
    shipped = (REPO_ROOT / "policy" / "2025.toml").read_text(encoding="utf-8")
    (tmp_path / "2025.toml").write_text(shipped + extra, encoding="utf-8")
    return PolicyBook.load(tmp_path).for_region("532328101001", 2025)


def assessed_under(policy, *raws):
    state = HouseholdState()
    for raw in raws:
        state = apply_event(state, validate_event(raw, b"k"))
    return assess(state, policy)


def test_a_county_whose_policy_makes_medical_burden_red_gets_a_red_reason_for_the_same_bill(tmp_path):
    policy = policy_with(tmp_path, '\n[regions."532328".levels]\nmedical_burden = "red"\n')
    result = assessed_under(policy, registration("H", 100000 * 2, members=2), bill("H", "2025-03-05", 10000.01))
    assert codes(result) == {"medical_burden": "red"} and result.level == "red"


def test_a_policy_that_holds_ordinary_households_to_the_low_income_trigger_flags_them_earlier(tmp_path):
    ordinary = registration("H", 100000 * 2, members=2, category="ordinary")
    shipped = assessed(ordinary, bill("H", "2025-03-05", 12000))
    widened = policy_with(tmp_path, '\n[regions."532328"]\nlow_income_categories = ["ordinary", "poverty_exited"]\n')
    assert codes(shipped) == {} and codes(assessed_under(widened, ordinary, bill("H", "2025-03-05", 12000))) == {
        "medical_burden": "yellow"
    }


def test_a_six_month_window_annualises_the_income_it_adds_up(tmp_path):
    policy = policy_with(tmp_path, '\n[regions."532328"]\nincome_window_months = 6\n')
    incomes = [income("H", f"2025-{m:02d}", 1000) for m in range(1, 7)]
    result = assessed_under(policy, registration("H", 48000, members=2, time="2025-01-02T00:00:00Z"), *incomes)
    assert result.figures.income_12m == 12000 and result.figures.months_reported == 6
    assert "近6个月（按年折算）" in result.reasons[0].message_zh
