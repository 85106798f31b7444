"""Due dates, reminders and overdue escalation of a case, without infrastructure."""

from datetime import timedelta

from services.alerts.deadlines import deadline_change, is_overdue, next_check
from services.alerts.raising import apply_score
from services.alerts.transitions import TransitionRequest, apply_transition
from tests.unit.test_workflow_transitions import EARLIEST, POLICIES, POLICY, T0, red_score


def raised():
    return apply_score(None, red_score(), POLICIES, T0)


def test_due_dates_come_from_the_policy():
    alert = raised()
    due = {d.name: d.due_at for d in alert.deadlines}
    assert due == {"home_visit": T0 + POLICY.home_visit_within, "decision": T0 + POLICY.identification_within}
    assert alert.due_at == due["decision"] and alert.inbox == "532328101"


def test_a_reminder_comes_before_the_visit_is_due_and_only_once():
    alert = raised()
    remind_at = T0 + POLICY.home_visit_within - POLICY.reminder_before
    assert next_check(alert) == remind_at
    assert deadline_change(alert, remind_at - timedelta(seconds=1)) is None
    reminded = deadline_change(alert, remind_at)
    assert reminded.history[-1].change == "reminder:home_visit" and not reminded.overdue
    assert deadline_change(reminded, remind_at) is None
    assert next_check(reminded) == T0 + POLICY.home_visit_within


def test_a_missed_visit_flags_the_case_overdue_and_escalates_it_to_the_county():
    late = T0 + POLICY.home_visit_within
    overdue = deadline_change(raised(), late)
    assert overdue.overdue and overdue.queue == "county" and is_overdue(overdue, late)
    assert overdue.history[-1].change == "overdue:home_visit"


def test_the_visit_clears_the_visit_deadline_and_the_decision_clears_the_rest():
    late = T0 + POLICY.home_visit_within
    overdue = deadline_change(raised(), late)

    def worker_moves(alert, request):
        return apply_transition(alert, request, "w", "township_worker", POLICY, None, late, EARLIEST)

    taken = worker_moves(overdue, TransitionRequest(to="verifying", expected_version=2))
    assert taken.overdue
    visited = worker_moves(taken, TransitionRequest(to="reviewing", expected_version=3, visited_at=late, consent=True))
    assert not visited.overdue and visited.queue == "county"
    assert next_check(visited) == T0 + POLICY.identification_within - POLICY.reminder_before
    dismissed = worker_moves(visited, TransitionRequest(to="dismissed", expected_version=4, reason="no risk"))
    assert next_check(dismissed) is None and not is_overdue(dismissed, late + timedelta(days=365))
