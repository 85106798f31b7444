"""Which risk types (风险类型) the evidence proposes, by the policy's rules: main first, each with its evidence."""

from pathlib import Path

import pytest

from services.common.policy import PolicyBook, PolicyError
from services.common.score_records import ReasonRecord
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.causes import with_model_causes
from services.scoring.features import FEATURE_WORDS, household_features
from services.scoring.rules import Assessment, assess
from services.scoring.state import HouseholdState, apply_event
from tests.factories import cloud_event, income, registration

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
VALUES = POLICIES.for_region("532328101001", 2025).values


def medical(household_id: str, out_of_pocket: float, illness: str | None, day: str = "2025-02-10") -> dict:
    data = {"household_id": household_id, "date": day, "total_cost": out_of_pocket * 2, "out_of_pocket": out_of_pocket}
    return cloud_event("medical.expense.incurred", data | ({"illness": illness} if illness else {}))


def disaster(household_id: str, damage: str, loss: float = 0) -> dict:
    data = {"household_id": household_id, "date": "2025-02-20", "hazard": "flood", "house_damage": damage,
            "economic_loss": loss}  # fmt: skip
    return cloud_event("disaster.loss.reported", data)


def schooling(household_id: str, out_of_pocket: float) -> dict:
    data = {
        "household_id": household_id,
        "date": "2025-02-15",
        "total_cost": out_of_pocket,
        "out_of_pocket": out_of_pocket,
    }
    return cloud_event("education.expense.incurred", data | {"stage": "tertiary"})


def household(*raws) -> HouseholdState:
    state = HouseholdState()
    for raw in raws:
        state = apply_event(state, validate_event(raw, b"k"))
    return state


def assessed(*raws, policies: PolicyBook = POLICIES) -> Assessment:
    found = assess(household(*raws), policies.for_region("532328101001", 2025))
    assert found is not None
    return found


def types(assessment: Assessment) -> list[str]:
    return list(dict.fromkeys(p.risk_type for p in assessment.risk_types))


def test_a_large_out_of_pocket_bill_for_a_chronic_illness_proposes_illness_first_with_its_evidence():
    found = assessed(registration("H1", 40000, members=4), medical("H1", 32000, "chronic"))
    assert {r.code for r in found.reasons} >= {"medical_burden", "income_after_rigid_spending_below_threshold"}
    assert types(found) == ["illness"]
    main = found.risk_types[0]
    assert (main.evidence, main.amount) == ("medical_chronic", 32000)
    assert "慢性病等医疗自付32,000元" in main.message_zh and "chronic illness: 32,000 yuan" in main.message_en


def test_an_acute_illness_or_injury_proposes_an_accident_and_the_costliest_illness_decides():
    assert types(assessed(registration("H1", 40000), medical("H1", 30000, "acute"))) == ["accident"]
    costliest = assessed(registration("H1", 40000), medical("H1", 20000, "acute"), medical("H1", 12000, "critical"))
    assert types(costliest) == ["accident"]


def test_a_collapsed_house_proposes_disaster_at_red():
    found = assessed(registration("H1", 60000), disaster("H1", "collapsed", 8000))
    assert types(found) == ["disaster"]
    assert (found.risk_types[0].level, found.risk_types[0].evidence) == ("red", "house_damage")
    assert "住房因灾（flood）倒塌" in found.risk_types[0].message_zh


def test_a_drop_in_wage_income_proposes_unstable_employment_and_in_farming_a_failed_business():
    def dropped(source: str) -> Assessment:
        year_before = [income("H1", f"2024-{m:02d}", 3000, source) for m in (1, 2, 3)]
        now = [income("H1", f"2025-{m:02d}", 1000, source) for m in (1, 2, 3)]
        return assessed(registration("H1", 36000 * 4, time="2024-01-01T08:00:00+08:00"), *year_before, *now)

    wage = dropped("wage")
    assert "income_drop" in {r.code for r in wage.reasons}
    assert types(wage) == ["unstable_employment"]
    assert wage.risk_types[0].amount == 6000
    assert types(dropped("agriculture")) == ["business_failure"]


def test_disabled_members_in_a_household_short_of_labour_propose_disability_when_its_income_is_low():
    found = assessed(registration("H1", 9600, members=4, labourers=1, disabled_members=1))
    assert types(found) == ["disability"]
    with_labour = assessed(registration("H1", 9600, members=4, labourers=2, disabled_members=1))
    assert types(with_labour) == ["unstable_income"]


def test_low_income_alone_is_unstable_income_and_an_own_application_alone_is_other_both_as_fallbacks():
    low = assessed(registration("H1", 9600))
    assert [(p.risk_type, p.fallback) for p in low.risk_types] == [("unstable_income", True)]
    applied = cloud_event("assistance.requested", {"household_id": "H1", "date": "2025-02-03", "reason": "生病"})
    assert types(assessed(registration("H1", 60000), applied)) == ["other"]
    assert types(assessed(registration("H1", 9600), medical("H1", 12000, "chronic"))) == ["illness"]


def test_schooling_costs_that_take_income_below_the_line_propose_education():
    found = assessed(registration("H1", 40000, members=4), schooling("H1", 6000))
    reason = next(r for r in found.reasons if r.code == "income_after_rigid_spending_below_threshold")
    assert reason.evidence["schooling_out_of_pocket_12m"] == 6000 and "教育支出6,000元" in reason.message_zh
    assert found.figures.per_capita_after_rigid_spending == 8500
    assert types(found) == ["education"]


def test_a_region_s_own_rule_replaces_the_default_for_that_key_only(tmp_path: Path):
    shipped = (REPO_ROOT / "policy" / "2025.toml").read_text(encoding="utf-8")
    extra = '\n[regions."532328".risk_type_rules]\nmedical_chronic = "disability"\n'
    (tmp_path / "2025.toml").write_text(shipped + extra, encoding="utf-8")
    policies = PolicyBook.load(tmp_path)
    assert types(assessed(registration("H1", 40000), medical("H1", 32000, "chronic"), policies=policies)) == [
        "disability"
    ]
    assert types(assessed(registration("H1", 40000), medical("H1", 32000, "acute"), policies=policies)) == ["accident"]


def test_a_household_without_reasons_has_no_risk_types_and_keeps_its_fingerprint():
    found = assessed(registration("H1", 8700 * 4))
    assert found.risk_types == []
    assert found.fingerprint() == "green||34800.00|4|8700.0|0.00"


def features_of(*raws) -> dict[str, float]:
    found = household_features(household(*raws), POLICIES.for_region("532328101001", 2025))
    assert found is not None
    return found


def model_reason(drivers: str) -> ReasonRecord:
    return ReasonRecord("model_risk", "yellow", "模型", "model", {"drivers": drivers})


def test_the_model_s_attributions_propose_their_policy_types_and_replace_a_fallback():
    low = assessed(registration("H1", 9600))
    reason = ReasonRecord("model_risk", "red", "模型", "model", {"drivers": "medical_to_line,disabled_share"})
    found = with_model_causes(low.risk_types, reason, VALUES, FEATURE_WORDS, features_of(registration("H1", 9600)))
    assert [(p.risk_type, p.evidence) for p in found] == [
        ("illness", "driver:medical_to_line"),
        ("disability", "driver:disabled_share"),
    ]
    assert found[0].message_zh == "模型因素：医疗自付与监测线之比"
    unknown = ReasonRecord("model_risk", "yellow", "模型", "model", {"drivers": ""})
    assert [(p.risk_type, p.fallback) for p in with_model_causes([], unknown, VALUES, FEATURE_WORDS, {})] == [
        ("other", True)
    ]


def test_low_income_after_rigid_spending_points_to_illness_only_where_the_household_paid_medical_costs():
    drivers = model_reason("after_rigid_to_line,year_before_to_line")
    without_bills = features_of(registration("H1", 9600))
    found = with_model_causes(assessed(registration("H1", 9600)).risk_types, drivers, VALUES, FEATURE_WORDS,
                              without_bills)  # fmt: skip
    assert without_bills["medical_to_line"] == 0
    assert [(p.risk_type, p.evidence) for p in found] == [("unstable_income", "driver:year_before_to_line")]
    with_bills = features_of(registration("H1", 9600), medical("H1", 800, None, day="2025-01-20"))
    assert with_bills["medical_to_line"] > 0
    assert [p.risk_type for p in with_model_causes([], drivers, VALUES, FEATURE_WORDS, with_bills)] == [
        "illness",
        "unstable_income",
    ]


def test_an_attribution_to_what_describes_the_household_names_no_cause():
    described = model_reason("members,months_reported,exited_household")
    features = features_of(registration("H1", 9600))
    rules = assessed(registration("H1", 9600)).risk_types
    assert [p.evidence for p in with_model_causes(rules, described, VALUES, FEATURE_WORDS, features)] == [
        "income_unexplained"
    ]
    alone = with_model_causes([], described, VALUES, FEATURE_WORDS, features)
    assert [(p.risk_type, p.evidence, p.fallback) for p in alone] == [("other", "model_risk", True)]


def test_a_policy_asking_an_attribution_for_evidence_it_does_not_map_is_refused(tmp_path: Path):
    shipped = (REPO_ROOT / "policy" / "2025.toml").read_text(encoding="utf-8")
    typo = shipped.replace('after_rigid_to_line = "medical_to_line"', 'after_rigid_to_line = "medical_to_lines"')
    (tmp_path / "2025.toml").write_text(typo, encoding="utf-8")
    with pytest.raises(PolicyError, match="risk_type_driver_evidence names medical_to_lines"):
        PolicyBook.load(tmp_path)


def test_every_policy_file_maps_every_model_feature_but_those_describing_the_household_to_a_risk_type():
    for path in sorted((REPO_ROOT / "policy").glob("*.toml")):
        values = PolicyBook.load(path.parent).for_region("", int(path.stem)).values
        assert set(values.risk_type_drivers) <= set(FEATURE_WORDS), path
        assert set(FEATURE_WORDS) - set(values.risk_type_drivers) == {"months_reported", "members", "exited_household"}
        assert values.risk_type_driver_evidence == {"after_rigid_to_line": "medical_to_line"}, path
