"""Risk elimination criteria (风险消除), without infrastructure."""

from datetime import UTC, date, datetime, timedelta

from services.alerts.resolution import months_above_line, unmet_criteria
from services.common.alerts import Alert, Measure
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT

POLICY = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025).values  # 6 months, 180 days, 1, labour
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def score(month: str, per_capita: float, line: float = 8700) -> dict:
    return {
        "kind": "score",
        "event_time": f"{month}-15T00:00:00+08:00",
        "per_capita_income": per_capita,
        "monitoring_line": line,
    }


def household(timeline: list[dict], labourers: int | None = 2) -> dict:
    return {"figures": {"labourers": labourers}, "timeline": timeline}


def assisted(confirmed_at: datetime, measures: int = 1) -> Alert:
    measure = Measure(type="employment", amount=100, date=date(2025, 1, 2), recorded_by="w", recorded_at=T0)
    return Alert(
        id="a",
        household_id="H1",
        region_code="532328101001",
        level="red",
        status="assisting",
        reasons=[],
        created_at=T0,
        updated_at=T0,
        due_at=T0,
        policy_version="2025.2",
        confirmed_at=confirmed_at,
        measures=[measure] * measures,
    )


def test_months_above_the_line_run_from_the_first_score_of_the_trailing_run_to_the_latest():
    timeline = [score("2025-01", 2400), score("2025-02", 9000), score("2025-05", 9100), score("2025-08", 9500)]
    assert months_above_line(timeline) == 6


def test_a_score_below_the_line_restarts_the_count():
    assert months_above_line([score("2025-01", 9000), score("2025-04", 8000), score("2025-06", 9000)]) == 0
    assert months_above_line([score("2025-01", 9000), score("2025-06", 8000)]) == 0


def test_a_score_without_figures_ends_the_run_and_no_scores_mean_zero_months():
    assert (
        months_above_line([score("2024-01", 9000), {"kind": "score", "event_time": "2024-05-01T00:00:00+00:00"}]) == 0
    )
    assert months_above_line([]) == 0


def test_a_case_meeting_every_criterion_may_be_resolved():
    timeline = [score("2025-01", 2400), score("2025-02", 9000), score("2025-08", 9500)]
    assert unmet_criteria(assisted(T0), household(timeline), POLICY, T0 + timedelta(days=180)) == []


def test_every_unmet_criterion_is_listed():
    unmet = unmet_criteria(assisted(T0, measures=0), household([score("2025-01", 2400)], 0), POLICY, T0)
    assert len(unmet) == 4
    assert unmet[0].startswith("income at or above the line for 0 month(s); 6 needed")
    assert "monitored for" in unmet[1] and "assistance measure" in unmet[2] and "no labour" in unmet[3]


def test_unknown_labourers_refuse_resolution_unless_the_policy_waives_labour():
    timeline = [score("2025-01", 9000), score("2025-08", 9500)]
    later = T0 + timedelta(days=200)
    assert unmet_criteria(assisted(T0), household(timeline, None), POLICY, later) == [
        "the household's labourers are unknown: no score has reported them"
    ]
    waived = POLICY.model_copy(update={"resolution_requires_labour": False})
    assert unmet_criteria(assisted(T0), household(timeline, 0), waived, later) == []
