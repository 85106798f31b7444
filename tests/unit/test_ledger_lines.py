"""A ledger line is read from the alert's stored JSON: it shows what the Alert model holds, overdue by the same rule."""

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from services.alerts.deadlines import counts_as_overdue
from services.api.ledger import LedgerCase, ledger_line, mask_household
from services.common.alerts import Alert, Deadline, HistoryEntry, Measure, RiskTypeReview, Visit
from services.common.scores import Reason

T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
REASONS = [
    Reason(code="income_below_line", level="red", message_zh="人均纯收入低于监测线", message_en="income below the line",
           evidence={"per_capita": 5000.0}),
    Reason(code="medical_burden", level="yellow", message_zh="医疗支出大", message_en="heavy medical bills",
           evidence={"ratio": 0.6}),
]  # fmt: skip


def alert(status="open", visit=False, overdue=False, measures=0, category=None) -> Alert:
    return Alert(
        id="a-1",
        household_id="HH532328001",
        region_code="532328101001",
        level="red",
        status=status,
        reasons=REASONS,
        created_at=T0,
        updated_at=T0,
        due_at=T0 + timedelta(days=15),
        policy_version="2025.2",
        score_ids=["s1", "s2"],
        history=[HistoryEntry(at=T0, by="system", change="raised", level="red", score_id="s1")],
        deadlines=[
            Deadline(name="home_visit", due_at=T0 + timedelta(days=7), remind_at=T0 + timedelta(days=6)),
            Deadline(name="decision", due_at=T0 + timedelta(days=15), remind_at=T0 + timedelta(days=13)),
        ],
        overdue=overdue,
        visit=Visit(visited_at=T0 + timedelta(days=2), by="w", note="seen", consent=True) if visit else None,
        measures=[Measure(type="employment", amount=100, date=date(2025, 3, 9), recorded_by="w", recorded_at=T0)]
        * measures,
        category=category,
    )


def stored(case: Alert) -> LedgerCase:
    return msgspec.json.decode(case.model_dump_json(), type=LedgerCase)


def test_a_line_shows_the_masked_household_the_village_the_reasons_in_words_and_the_dates():
    case = alert(status="assisting", visit=True, measures=2, category="sudden_hardship")
    line = ledger_line(stored(case), "小河村", "zh", T0)
    assert line == [
        "a-1",
        mask_household("HH532328001"),
        "小河村",
        "532328101001",
        "red",
        "assisting",
        "人均纯收入低于监测线；医疗支出大",
        "2025-03-01T08:30:00+00:00",
        "2025-03-16T08:30:00+00:00",
        "0",
        "2025-03-03T08:30:00+00:00",
        "sudden_hardship",
        "employment employment",
        "",
        "",
    ]
    assert "HH532328001" not in line
    assert ledger_line(stored(case), "Xiaohe", "en", T0)[6] == "income below the line; heavy medical bills"


@pytest.mark.parametrize(
    "case",
    [
        alert(),
        alert(visit=True),
        alert(status="verifying"),
        alert(status="reviewing", visit=True),
        alert(overdue=True),
        alert(status="dismissed", overdue=True),
        alert(status="resolved"),
        alert(status="assisting", visit=True, measures=1),
    ],
    ids=["open", "visited", "verifying", "reviewing", "flagged", "dismissed", "resolved", "assisting"],
)
@pytest.mark.parametrize("days", [0, 8, 16])
def test_the_overdue_column_follows_the_rule_the_alert_model_follows(case, days):
    now = T0 + timedelta(days=days)
    line = ledger_line(stored(case), "", "en", now)
    assert line[9] == ("1" if counts_as_overdue(case, now) else "0")


def test_an_open_case_past_its_home_visit_deadline_counts_as_overdue_and_a_visited_one_not_until_the_decision():
    assert ledger_line(stored(alert()), "", "en", T0 + timedelta(days=8))[9] == "1"
    assert ledger_line(stored(alert(visit=True)), "", "en", T0 + timedelta(days=8))[9] == "0"
    assert ledger_line(stored(alert(visit=True)), "", "en", T0 + timedelta(days=16))[9] == "1"
    assert ledger_line(stored(alert(status="dismissed")), "", "en", T0 + timedelta(days=16))[9] == "0"


def test_the_risk_type_columns_name_the_types_main_first_and_who_set_them_in_the_ledger_s_language():
    proposed = alert().model_copy(update={"risk_types": ["illness", "disability"]})
    assert ledger_line(stored(proposed), "", "zh", T0)[13:] == ["因病、因残", "系统建议"]
    review = RiskTypeReview(by="w", at=T0, step="home_visit", proposed=["illness"], corrected=True)
    visited = proposed.model_copy(update={"risk_types": ["disability", "illness"], "risk_types_review": review})
    assert ledger_line(stored(visited), "", "zh", T0)[13:] == ["因残、因病", "入户核实"]
    assert ledger_line(stored(visited), "", "en", T0)[13:] == ["disability; illness", "home visit"]
    confirmed = visited.model_copy(update={"risk_types_review": review.model_copy(update={"step": "confirmation"})})
    assert ledger_line(stored(confirmed), "", "zh", T0)[13:] == ["因残、因病", "县级认定"]
