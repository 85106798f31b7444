from datetime import UTC, datetime, timedelta

from services.alerts.raising import apply_score
from services.common.policy import PolicyBook
from services.common.scores import Figures, Level, Reason, Score
from services.common.settings import REPO_ROOT

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def score(score_id: str, level: Level = "red", code: str = "income_below_threshold") -> Score:
    reasons = (
        []
        if level == "green"
        else [Reason(code=code, level=level, message_zh="原因", message_en="why", evidence={"x": 1})]
    )
    return Score(
        score_id=score_id,
        household_id="H1",
        region_code="532328101001",
        level=level,
        reasons=reasons,
        figures=Figures(members=4, income_12m=9600, per_capita_income=2400, months_reported=0, monitoring_line=8700),
        policy_version="2025.1",
        model_version=None,
        scoring_mode="rules_only",
        caused_by=[f"/s#{score_id}"],
        event_time=NOW,
        scored_at=NOW,
    )


def test_a_red_score_opens_an_alert_due_within_the_policy_deadline():
    alert = apply_score(None, score("s1"), POLICIES, NOW)
    assert alert is not None
    assert (alert.level, alert.status, alert.version) == ("red", "open", 1)
    assert alert.due_at == NOW + timedelta(days=15)
    assert alert.history[0].change == "raised"


def test_a_green_score_opens_nothing():
    assert apply_score(None, score("s1", "green"), POLICIES, NOW) is None


def test_new_evidence_joins_the_open_alert_instead_of_opening_another():
    first = apply_score(None, score("s1", "yellow", "medical_burden"), POLICIES, NOW)
    joined = apply_score(first, score("s2", "yellow", "self_declared"), POLICIES, NOW)
    assert joined.id == first.id and joined.version == 2
    assert [r.code for r in joined.reasons] == ["medical_burden", "self_declared"]
    assert joined.history[-1].change == "evidence_added"


def test_a_rise_from_yellow_to_red_escalates_the_alert():
    first = apply_score(None, score("s1", "yellow", "medical_burden"), POLICIES, NOW)
    raised = apply_score(first, score("s2", "red"), POLICIES, NOW)
    assert raised.level == "red" and raised.history[-1].change == "escalated"


def test_a_lower_level_never_lowers_an_open_alert():
    first = apply_score(None, score("s1", "red"), POLICIES, NOW)
    assert apply_score(first, score("s2", "yellow", "medical_burden"), POLICIES, NOW).level == "red"


def test_a_redelivered_score_changes_nothing():
    first = apply_score(None, score("s1"), POLICIES, NOW)
    assert apply_score(first, score("s1"), POLICIES, NOW) is None


def test_a_closed_alert_is_followed_by_a_new_one():
    closed = apply_score(None, score("s1"), POLICIES, NOW).model_copy(update={"status": "dismissed"})
    reopened = apply_score(closed, score("s2"), POLICIES, NOW)
    assert reopened.id != closed.id and reopened.status == "open"
