"""The official workflow's transition table, roles and step requirements, without infrastructure."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.alerts.raising import apply_score
from services.alerts.transitions import (
    TRANSITIONS,
    MeasureRequest,
    Refusal,
    TransitionRequest,
    add_measure,
    allowed_from,
    apply_transition,
)
from services.common.alerts import Alert, Status
from services.common.policy import PolicyBook
from services.common.scores import Figures, Level, Reason, Score
from services.common.settings import REPO_ROOT

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
POLICY = POLICIES.for_region("532328101001", 2025).values
T0 = datetime(2025, 6, 1, tzinfo=UTC)
EARLIEST = POLICIES.first_day


def red_score(score_id: str = "s1", level: Level = "red", code: str = "income_below_threshold") -> Score:
    reason = Reason(code=code, level=level, message_zh="原因", message_en="why", evidence={"x": 1})
    figures = Figures(members=4, income_12m=9600, per_capita_income=2400, months_reported=0, monitoring_line=8700)
    return Score(
        score_id=score_id,
        household_id="H1",
        region_code="532328101001",
        level=level,
        reasons=[reason],
        figures=figures,
        policy_version="2025.2",
        model_version=None,
        scoring_mode="rules_only",
        caused_by=[f"/s#{score_id}"],
        event_time=T0,
        scored_at=T0,
    )


def move(alert: Alert, to: Status, role: str = "township_worker", at: datetime = T0, **fields) -> Alert:
    request = TransitionRequest(to=to, expected_version=alert.version, **fields)
    return apply_transition(alert, request, "someone", role, POLICY, None, at, EARLIEST)


def refusal(alert: Alert, to: Status, role: str = "township_worker", at: datetime = T0, **fields) -> Refusal:
    with pytest.raises(Refusal) as caught:
        move(alert, to, role, at, **fields)
    return caught.value


def reviewing() -> Alert:
    raised = apply_score(None, red_score(), POLICIES, T0)
    assert raised is not None
    taken = move(raised, "verifying")
    return move(taken, "reviewing", visited_at=T0, consent=True, note="visited, income confirmed")


def test_a_worker_takes_an_alert_and_sends_it_to_village_review_after_the_visit():
    alert = reviewing()
    assert (alert.status, alert.version, alert.assignee) == ("reviewing", 3, "someone")
    assert alert.visit.consent and alert.visit.note == "visited, income confirmed"
    assert alert.review_started_at == T0
    assert [entry.change for entry in alert.history] == ["raised", "verifying", "reviewing"]


def test_village_review_needs_the_visit_and_the_households_consent():
    raised = apply_score(None, red_score(), POLICIES, T0)
    assert raised is not None
    taken = move(raised, "verifying")
    assert refusal(taken, "reviewing", consent=True).kind == "input"
    assert refusal(taken, "reviewing", visited_at=T0, consent=False).kind == "input"
    assert refusal(taken, "reviewing", visited_at=T0 + timedelta(days=1), consent=True).kind == "input"


def test_the_county_confirms_only_after_the_public_notice_and_with_a_category():
    alert = reviewing()
    early = refusal(alert, "confirmed", "county_supervisor", T0 + POLICY.public_notice_min / 2, category="marginal")
    assert early.kind == "criteria" and "public notice runs until" in early.message
    after_notice = T0 + POLICY.public_notice_min
    assert refusal(alert, "confirmed", "county_supervisor", after_notice).kind == "input"
    confirmed = move(alert, "confirmed", "county_supervisor", after_notice, category="marginal")
    assert (confirmed.status, confirmed.category, confirmed.confirmed_at) == ("confirmed", "marginal", after_notice)


def test_a_township_worker_cannot_confirm():
    assert refusal(reviewing(), "confirmed", at=T0 + POLICY.public_notice_min, category="marginal").kind == "role"


def test_a_forbidden_move_names_the_current_status_and_the_allowed_moves():
    alert = apply_score(None, red_score(), POLICIES, T0)
    refused = refusal(alert, "confirmed", "county_supervisor", category="marginal")
    assert refused.kind == "state" and "the alert is open" in refused.message
    assert refused.details["allowed"] == [
        {"to": "verifying", "roles": ["township_worker"]},
        {"to": "dismissed", "roles": ["township_worker"]},
    ]


def test_a_dismissal_needs_a_reason_and_closes_the_case():
    alert = apply_score(None, red_score(), POLICIES, T0)
    assert refusal(alert, "dismissed").kind == "input"
    dismissed = move(alert, "dismissed", reason="income misreported; corrected by civil affairs")
    assert not dismissed.is_open and dismissed.dismissed_at == T0
    assert refusal(dismissed, "verifying").details["allowed"] == []


def test_only_a_role_in_the_table_may_make_each_move():
    for (source, to), roles in TRANSITIONS.items():
        assert roles <= {"township_worker", "county_supervisor"}, (source, to)
    assert all(move["roles"] for status in ("open", "verifying", "reviewing") for move in allowed_from(status))


def confirmed() -> Alert:
    return move(reviewing(), "confirmed", "county_supervisor", T0 + POLICY.public_notice_min, category="marginal")


def test_assistance_starts_only_once_a_measure_is_recorded():
    alert = confirmed()
    assert refusal(alert, "assisting").kind == "criteria"
    request = MeasureRequest(type="employment", amount=1200.5, date=date(2025, 5, 20), expected_version=alert.version)
    helped = add_measure(alert, request, "someone", "township_worker", T0, EARLIEST)
    assert helped.measures[0].type == "employment" and helped.version == alert.version + 1
    assert move(helped, "assisting").status == "assisting"


def test_measures_need_a_confirmed_case_a_known_type_and_a_non_negative_amount():
    open_alert = apply_score(None, red_score(), POLICIES, T0)
    request = MeasureRequest(type="housing", amount=0, date=date(2025, 5, 20), expected_version=1)
    with pytest.raises(Refusal) as caught:
        add_measure(open_alert, request, "someone", "township_worker", T0, EARLIEST)
    assert caught.value.kind == "state"
    with pytest.raises(Refusal) as caught:
        add_measure(confirmed(), request, "someone", "analyst", T0, EARLIEST)
    assert caught.value.kind == "role"
    for bad in ({"type": "cash"}, {"amount": -1}, {"amount": 1.005}):
        with pytest.raises(ValueError):
            MeasureRequest(**{"type": "housing", "amount": 1, "date": "2025-06-20", "expected_version": 1, **bad})


@pytest.mark.parametrize("day", [date(1, 1, 1), date(2020, 12, 31), date(2025, 6, 2), date(9999, 12, 31)])
def test_a_measure_dated_before_the_policy_history_or_after_today_is_refused_naming_the_date(day):
    request = MeasureRequest(type="housing", amount=100, date=day)
    with pytest.raises(Refusal) as caught:
        add_measure(confirmed(), request, "someone", "township_worker", T0, EARLIEST)
    assert caught.value.kind == "input" and caught.value.message.startswith(f"date {day} lies outside 2021-01-01")


@pytest.mark.parametrize("visited_at", ["0001-01-01", "2020-12-31", "9999-12-31T00:00:00+08:00"])
def test_a_visit_before_the_policy_history_or_in_the_future_is_refused_naming_visited_at(visited_at):
    taken = move(apply_score(None, red_score(), POLICIES, T0), "verifying")
    caught = refusal(taken, "reviewing", visited_at=visited_at, consent=True)
    assert caught.kind == "input" and caught.message.startswith("visited_at lies")


@pytest.mark.parametrize(
    "body",
    [
        {"to": "verifying", "note": "户主身份证 532328197007075516"},
        {"to": "dismissed", "reason": "重复登记 ５３２３２８１９７００７０７５５１６"},
    ],
)
def test_a_resident_id_in_a_workers_note_or_reason_is_refused_naming_the_field(body):
    with pytest.raises(ValueError) as caught:
        TransitionRequest(**body)
    field = "note" if "note" in body else "reason"
    assert caught.value.errors()[0]["loc"] == (field,) and "resident ID" in str(caught.value)
    with pytest.raises(ValueError, match="resident ID"):
        MeasureRequest(type="housing", amount=1, date="2025-05-20", note="身份证532328197007075516")
