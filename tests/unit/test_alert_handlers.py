"""The workflow's service layer over in-memory fakes: jurisdiction, expected versions, races, and the domain rules."""

import asyncio
from datetime import date, timedelta

import pytest

from services.alerts.handlers import MoveAlert, RecordMeasure, Stale, Unknown, move_alert, record_measure
from services.alerts.raising import apply_score
from services.alerts.transitions import MeasureRequest, Refusal, TransitionRequest
from services.common.alerts import Status
from tests.unit.fake_alerts import FakeAlerts, Staffer
from tests.unit.test_workflow_transitions import POLICIES, POLICY, T0, red_score

WORKER = Staffer("worker", "township_worker", "532328101")
ELSEWHERE = Staffer("other", "township_worker", "532328102")
SUPERVISOR = Staffer("county", "county_supervisor", "532328")


def store_with_alert() -> tuple[FakeAlerts, str]:
    alert = apply_score(None, red_score(), POLICIES, T0)
    assert alert is not None
    return FakeAlerts(alerts={alert.id: alert}), alert.id


def move(store: FakeAlerts, alert_id: str, to: Status, person: Staffer = WORKER, expected=None, at=T0, **fields):
    command = MoveAlert(alert_id, TransitionRequest(to=to, **fields), expected)
    return asyncio.run(move_alert(command, person, store, store, POLICIES, at))


def test_a_worker_takes_an_alert_of_their_township_and_the_change_is_logged_once():
    store, alert_id = store_with_alert()
    changed = move(store, alert_id, "verifying")
    assert (changed.before.version, changed.after.version, changed.kind) == (1, 2, "verifying")
    assert store.alerts[alert_id].status == "verifying" and store.logged == [(alert_id, "verifying", "worker")]


def test_an_alert_of_another_township_is_unknown_to_the_worker_and_nothing_is_logged():
    store, alert_id = store_with_alert()
    with pytest.raises(Unknown):
        move(store, alert_id, "verifying", ELSEWHERE)
    with pytest.raises(Unknown):
        move(store, "no-such-alert", "verifying")
    assert store.logged == []


def test_a_stale_expected_version_is_refused_naming_the_current_one():
    store, alert_id = store_with_alert()
    with pytest.raises(Stale) as caught:
        move(store, alert_id, "verifying", expected=7)
    assert caught.value.current.version == 1 and not caught.value.raced and store.logged == []


def test_a_change_that_another_got_in_before_is_refused_as_a_lost_race():
    store, alert_id = store_with_alert()
    store.interloper = store.alerts[alert_id].model_copy(update={"version": 2, "status": "verifying"})
    with pytest.raises(Stale) as caught:
        move(store, alert_id, "verifying")
    assert caught.value.raced and caught.value.current.version == 2 and store.logged == []


def test_the_domain_refuses_a_move_the_role_may_not_make():
    store, alert_id = store_with_alert()
    move(store, alert_id, "verifying")
    move(store, alert_id, "reviewing", visited_at=T0, consent=True)
    with pytest.raises(Refusal) as caught:
        move(store, alert_id, "confirmed", category="marginal", at=T0 + POLICY.public_notice_min)
    assert caught.value.kind == "role"
    confirmed = move(store, alert_id, "confirmed", SUPERVISOR, category="marginal", at=T0 + POLICY.public_notice_min)
    assert confirmed.after.status == "confirmed"


def test_a_measure_is_recorded_on_a_confirmed_case_and_resolution_reads_the_household():
    store, alert_id = store_with_alert()
    move(store, alert_id, "verifying")
    move(store, alert_id, "reviewing", visited_at=T0, consent=True)
    later = T0 + POLICY.public_notice_min
    move(store, alert_id, "confirmed", SUPERVISOR, category="marginal", at=later)
    request = MeasureRequest(type="employment", amount=1200, date=date(2025, 6, 1))
    command = RecordMeasure(alert_id, request)
    added = asyncio.run(record_measure(command, WORKER, store, store, POLICIES.first_day, later))
    assert added.kind == "measure_added" and added.after.measures[0].amount == 1200
    move(store, alert_id, "assisting", at=later)
    with pytest.raises(Refusal) as caught:  # no household figures: the criteria cannot be shown to be met
        move(store, alert_id, "resolved", SUPERVISOR, at=later + timedelta(days=1))
    assert caught.value.kind == "criteria" and store.alerts[alert_id].status == "assisting"
