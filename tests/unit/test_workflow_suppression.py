"""Deduplication and suppression of warnings for one household, without infrastructure."""

from datetime import timedelta

from services.alerts.raising import apply_score
from services.alerts.transitions import TransitionRequest, apply_transition
from services.common.scores import Level
from tests.unit.test_workflow_transitions import POLICIES, POLICY, T0, red_score


def dismissed(level: Level = "yellow", code: str = "medical_burden"):
    alert = apply_score(None, red_score("s1", level, code), POLICIES, T0)
    assert alert is not None
    request = TransitionRequest(to="dismissed", expected_version=1, reason="covered by insurance")
    return apply_transition(alert, request, "w", "township_worker", POLICY, None, T0, POLICIES.first_day)


def test_the_same_reasons_do_not_reopen_a_dismissed_case_during_the_quiet_period():
    assert (
        apply_score(dismissed(), red_score("s2", "yellow", "medical_burden"), POLICIES, T0 + timedelta(days=1)) is None
    )


def test_the_same_reasons_reopen_once_the_quiet_period_is_over():
    later = T0 + POLICY.dismissal_quiet_period
    reopened = apply_score(dismissed(), red_score("s2", "yellow", "medical_burden"), POLICIES, later)
    assert reopened is not None and reopened.status == "open"


def test_a_higher_level_reopens_at_once():
    previous = dismissed()
    reopened = apply_score(previous, red_score("s2", "red", "medical_burden"), POLICIES, T0 + timedelta(days=1))
    assert reopened.level == "red" and reopened.reopened_from == previous.id


def test_a_new_reason_code_reopens_at_once():
    reopened = apply_score(dismissed(), red_score("s2", "yellow", "disaster_house_damage"), POLICIES, T0)
    assert reopened is not None and [r.code for r in reopened.reasons] == ["disaster_house_damage"]


def test_a_resolved_household_falling_back_reopens_with_its_history():
    resolved = apply_score(None, red_score("s1"), POLICIES, T0).model_copy(update={"status": "resolved"})
    again = apply_score(resolved, red_score("s2"), POLICIES, T0 + timedelta(days=400))
    assert again.id != resolved.id and again.reopened_from == resolved.id and again.status == "open"
    assert [entry.change for entry in again.history] == ["raised", "reopened"]
    assert again.history[-1].note == f"follows alert {resolved.id}"


def test_a_green_score_never_reopens():
    assert apply_score(dismissed(), red_score("s2", "green"), POLICIES, T0 + timedelta(days=400)) is None
