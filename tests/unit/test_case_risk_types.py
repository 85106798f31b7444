"""A case's risk types: proposed by the scores it joins, confirmed or corrected by a person (in the history),
answered by matching measures when the policy requires it for risk elimination, and named by the label a confirmation
becomes."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.alerts.raising import apply_score
from services.alerts.resolution import unmet_criteria
from services.alerts.transitions import Refusal, TransitionRequest, apply_transition
from services.analytics.labels import verdict_outcomes
from services.common.alerts import Alert, Change, Measure, Status
from services.common.policy import PolicyBook
from services.common.risk_types import MeasureType, RiskType
from services.common.scores import Figures, Level, Reason, RiskTypeProposal, Score
from services.common.settings import REPO_ROOT

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
POLICY = POLICIES.for_region("532328101001", 2025).values
T0 = datetime(2025, 6, 1, tzinfo=UTC)


def proposal(risk_type: RiskType, code: str, level: Level = "yellow", amount: float = 0, fallback: bool = False):
    return RiskTypeProposal(
        risk_type=risk_type, reason=code, evidence=f"{code}-rule", level=level, message_zh="证据", message_en="words",
        amount=amount, fallback=fallback,
    )  # fmt: skip


def score(score_id: str, *proposals: RiskTypeProposal, level: Level = "yellow") -> Score:
    codes = dict.fromkeys(p.reason for p in proposals) or {"income_below_threshold": None}
    reasons = [Reason(code=c, level=level, message_zh="原因", message_en="why", evidence={}) for c in codes]
    figures = Figures(members=4, income_12m=9600, per_capita_income=2400, months_reported=0, monitoring_line=8700)
    return Score(
        score_id=score_id, household_id="H1", region_code="532328101001", level=level, reasons=reasons,
        figures=figures, policy_version="2025.2", model_version=None, scoring_mode="rules_only",
        caused_by=[f"/s#{score_id}"], event_time=T0, scored_at=T0, risk_type_proposals=list(proposals),
    )  # fmt: skip


def raised(*proposals: RiskTypeProposal) -> Alert:
    alert = apply_score(None, score("s1", *proposals), POLICIES, T0)
    assert alert is not None
    return alert


def move(alert: Alert, to: Status, role: str = "township_worker", **fields) -> Alert:
    request = TransitionRequest(to=to, expected_version=alert.version, **fields)
    return apply_transition(alert, request, role, role, POLICY, None, T0, POLICIES.first_day)


def visited(alert: Alert, **fields) -> Alert:
    return move(move(alert, "verifying"), "reviewing", visited_at=T0, consent=True, **fields)


def test_a_new_case_carries_its_score_s_risk_types_main_first_with_the_proposals_behind_them():
    alert = raised(proposal("disaster", "disaster_house_damage", "red", 5000), proposal("illness", "medical_burden"))
    assert alert.risk_types == ["disaster", "illness"]
    assert [p.reason for p in alert.risk_type_proposals] == ["disaster_house_damage", "medical_burden"]


def test_evidence_joining_the_case_replaces_its_reasons_proposals_and_keeps_the_others():
    alert = raised(proposal("illness", "medical_burden", amount=30000))
    joined = apply_score(alert, score("s2", proposal("disaster", "disaster_house_damage", "red")), POLICIES, T0)
    assert joined.risk_types == ["disaster", "illness"]
    again = apply_score(joined, score("s3", proposal("accident", "medical_burden", amount=40000)), POLICIES, T0)
    assert again.risk_types == ["disaster", "accident"]


def test_a_fallback_gives_way_once_evidence_proposes_a_specific_type():
    alert = raised(proposal("unstable_income", "income_below_threshold", "red", fallback=True))
    assert alert.risk_types == ["unstable_income"]
    joined = apply_score(alert, score("s2", proposal("illness", "medical_burden")), POLICIES, T0)
    assert joined.risk_types == ["illness"]


def test_a_worker_corrects_the_risk_types_at_the_home_visit_and_the_history_says_from_what_to_what():
    alert = visited(raised(proposal("illness", "medical_burden")), risk_types=["disability", "illness"])
    assert alert.risk_types == ["disability", "illness"]
    review = alert.risk_types_review
    assert (review.by, review.step, review.proposed, review.corrected) == ("township_worker", "home_visit",
                                                                           ["illness"], True)  # fmt: skip
    entry = alert.history[-1]
    assert (entry.change, entry.risk_types, entry.risk_types_before) == (
        "risk_types_corrected", ["disability", "illness"], ["illness"])  # fmt: skip
    assert [e.change for e in alert.history[-2:]] == ["reviewing", "risk_types_corrected"]


def test_a_visit_without_risk_types_leaves_them_as_proposed_and_the_county_confirms_them_at_confirmation():
    alert = visited(raised(proposal("illness", "medical_burden")))
    assert alert.risk_types_review is None and alert.history[-1].change == "reviewing"
    later = T0 + timedelta(days=6)
    confirmed = apply_transition(alert, TransitionRequest(to="confirmed", category="marginal"), "county",
                                 "county_supervisor", POLICY, None, later, POLICIES.first_day)  # fmt: skip
    assert (confirmed.risk_types, confirmed.risk_types_review.step) == (["illness"], "confirmation")
    assert confirmed.history[-1].change == "risk_types_confirmed" and not confirmed.risk_types_review.corrected


def test_a_person_s_list_stands_against_later_evidence_but_a_newly_proposed_type_is_added_after_it():
    alert = visited(raised(proposal("illness", "medical_burden")), risk_types=["disability"])
    same = apply_score(alert, score("s2", proposal("illness", "medical_burden", amount=9)), POLICIES, T0)
    assert same.risk_types == ["disability"]
    new = apply_score(same, score("s3", proposal("disaster", "disaster_house_damage", "red")), POLICIES, T0)
    assert new.risk_types == ["disability", "disaster"]


def test_risk_types_are_refused_outside_the_visit_and_confirmation_and_each_type_only_once():
    alert = raised(proposal("illness", "medical_burden"))
    with pytest.raises(Refusal, match="at the home visit"):
        move(alert, "verifying", risk_types=["illness"])
    with pytest.raises(ValidationError, match="each risk type at most once"):
        TransitionRequest(to="reviewing", risk_types=["illness", "illness"])
    with pytest.raises(ValidationError):
        TransitionRequest(to="reviewing", risk_types=["bad_luck"])


def assisting(risk_types: list[RiskType], *measures: MeasureType) -> Alert:
    done = [Measure(type=m, amount=100, date=date(2025, 6, 2), recorded_by="w", recorded_at=T0) for m in measures]
    return raised().model_copy(update={"status": "assisting", "confirmed_at": T0 - timedelta(days=400),
                                       "risk_types": risk_types, "measures": done})  # fmt: skip


def test_with_the_switch_on_each_confirmed_risk_type_needs_a_measure_that_answers_it_before_resolution():
    household = {"figures": {"labourers": 2}, "timeline": []}
    strict = POLICY.model_copy(update={"resolution_requires_matching_measures": True, "resolution_income_months": 0})
    case = assisting(["illness", "education"], "medical_assistance")
    unmet = unmet_criteria(case, household, strict, T0)
    assert unmet == ["no measure answers the risk type education (因学): record one of education_aid"]
    assert unmet_criteria(assisting(["illness", "education"], "chronic_disease_contract", "education_aid"),
                          household, strict, T0) == []  # fmt: skip
    assert unmet_criteria(case, household, strict.model_copy(update={"resolution_requires_matching_measures": False}),
                          T0) == []  # fmt: skip


def test_the_county_s_confirmation_in_the_change_log_becomes_a_label_naming_the_confirmed_main_risk_type():
    alert = visited(raised(proposal("illness", "medical_burden")), risk_types=["disability"])
    confirmed = apply_transition(alert, TransitionRequest(to="confirmed", category="marginal",
                                                          risk_types=["illness", "disability"]),
                                 "county", "county_supervisor", POLICY, None, T0 + timedelta(days=6),
                                 POLICIES.first_day)  # fmt: skip
    change = Change(change_id="c1", alert_id=confirmed.id, household_id="H1", from_version=alert.version,
                    kind="confirmed", by="county", at=T0 + timedelta(days=6), alert=confirmed)  # fmt: skip
    [label] = verdict_outcomes([json.loads(change.model_dump_json())])
    assert (label.household_id, label.outcome, label.risk_type) == ("H1", "confirmed", "illness")
