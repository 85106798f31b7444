"""Analysts see causes too: labels name the risk type of a positive (a confirmed case's main one, a simulation's
cause), evaluation breaks recall down by it, so that the report shows which causes a scorer misses, and the out-of-time
evaluation says whether the model's attributions, mapped to risk types by the policy, point to those causes."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from services.analytics.cli import main
from services.analytics.evaluation import evaluate, risk_type_positives
from services.analytics.history import write_simulation
from services.analytics.labels import LabelError, Labels, Outcome, read_outcomes, verdict_outcomes, write_outcomes
from services.analytics.out_of_time import PeriodEvaluation
from services.analytics.report import attribution_table, risk_type_table
from services.analytics.simulator import SimConfig
from services.analytics.training_set import TrainingSet
from services.common.policy import PolicyBook
from services.common.score_records import FiguresRecord, ReasonRecord, RiskTypeRecord, ScoreRecord
from services.common.settings import REPO_ROOT
from services.scoring.causes import attributed_risk_types, with_model_causes
from services.scoring.features import FEATURE_WORDS, FEATURES


def months(hid: str, below: dict[int, str], count: int = 24) -> list[Outcome]:
    ends = [date(2025 + m // 12, m % 12 + 1, 28) for m in range(count)]
    return [Outcome(hid, d, "below_line", below[m]) if m in below else Outcome(hid, d, "above_line")
            for m, d in enumerate(ends)]  # fmt: skip


def test_labels_carry_an_optional_risk_type_that_reads_back_and_an_unknown_one_is_refused(tmp_path: Path):
    outcomes = [
        Outcome("H1", date(2025, 1, 31), "above_line"),
        Outcome("H1", date(2025, 2, 28), "below_line", "illness"),
    ]
    for name in ("labels.csv", "labels.jsonl"):
        write_outcomes(tmp_path / name, outcomes, with_risk_type=True)
        assert list(read_outcomes(tmp_path / name)) == outcomes
    write_outcomes(tmp_path / "plain.csv", outcomes)
    assert (tmp_path / "plain.csv").read_text().splitlines()[0] == "household_id,as_of,outcome"
    (tmp_path / "bad.csv").write_text("household_id,as_of,outcome,risk_type\nH1,2025-02,below_line,bad_luck\n")
    with pytest.raises(LabelError, match="bad.csv line 2: household H1: risk_type: 'bad_luck'"):
        list(read_outcomes(tmp_path / "bad.csv"))


def test_a_confirmed_case_from_the_change_log_names_its_main_risk_type_and_the_deciding_outcome_gives_the_cause():
    change = {"household_id": "A", "at": "2025-09-01T02:00:00+00:00", "kind": "confirmed",
              "alert": {"risk_types": ["disability", "illness"]}}  # fmt: skip
    dismissal = {"household_id": "B", "decided_at": "2025-04-05", "verdict": "dismissed", "risk_type": "illness"}
    found = list(verdict_outcomes([change, dismissal]))
    assert [(o.outcome, o.risk_type) for o in found] == [("confirmed", "disability"), ("dismissed", "")]
    labels = Labels([*months("A", {}), *months("B", {3: "disaster", 4: "illness"}), *found])
    assert labels.cause("A", date(2025, 3, 28), 12) == "disability"  # the confirmation decides
    assert labels.cause("B", date(2025, 1, 28), 12) == ""  # dismissed: no positive, no cause
    assert Labels(months("C", {3: "disaster", 4: "illness"})).cause("C", date(2025, 1, 28), 12) == "disaster"


def rows(causes: list[str], positive: list[bool]) -> TrainingSet:
    n = len(causes)
    return TrainingSet(
        np.zeros((n, len(FEATURES))), np.asarray(positive), np.zeros(n, int), np.full(n, "532328", object),
        np.asarray([f"h{i}" for i in range(n)], object), np.zeros(n, int), np.zeros(n, int), np.zeros((n, 2)),
        [date(2025, 12, 31)], risk_type=np.asarray(causes, object),
    )  # fmt: skip


def test_recall_is_broken_down_by_the_risk_type_of_the_positives_and_the_report_shows_which_causes_are_missed():
    causes = ["illness"] * 4 + ["disaster"] * 2 + ["", ""] + [""] * 32
    ts = rows(causes, [True] * 8 + [False] * 32)
    score = np.zeros(40)
    score[:4] = 1.0  # the four illness positives rank top: the 10 % budget flags exactly them
    result = evaluate("model", ts, score, probabilistic=False)
    assert risk_type_positives(ts) == {"illness": 4, "disaster": 2}
    assert result.risk_type_recall == {"illness": 1.0, "disaster": 0.0}
    table = "\n".join(risk_type_table([result], ts))
    assert "2 positives naming none left out" in table
    assert "| 因病 illness | 4 | 1.000 |" in table and "| 因灾 disaster | 2 | 0.000 |" in table
    assert risk_type_table([result], rows([""] * 4, [True, False, False, False])) == []


def test_a_simulation_s_falls_name_the_risk_type_of_their_cause(tmp_path: Path):
    write_simulation(SimConfig(households=120, seed=3), tmp_path / "e.jsonl", tmp_path / "l.csv")
    labels = list(read_outcomes(tmp_path / "l.csv"))
    falls = [o for o in labels if o.outcome == "below_line"]
    assert falls and all(o.risk_type for o in falls)
    assert not any(o.risk_type for o in labels if o.outcome == "above_line")
    assert {o.risk_type for o in falls} <= {
        "illness",
        "disability",
        "disaster",
        "unstable_employment",
        "unstable_income",
    }


VALUES = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025).values
T0 = datetime(2025, 6, 1, tzinfo=UTC)


def scored(reasons: list[ReasonRecord], proposals: list[RiskTypeRecord]) -> ScoreRecord:
    figures = FiguresRecord(members=4, income_12m=9600, per_capita_income=2400, months_reported=12,
                            monitoring_line=8700)  # fmt: skip
    return ScoreRecord(score_id="s1", household_id="H1", region_code="532328101001", level="red", reasons=reasons,
                       figures=figures, policy_version="2025.2", model_version="v1", scoring_mode="rules_and_model",
                       caused_by=[], event_time=T0, scored_at=T0, risk_type_proposals=proposals)  # fmt: skip


def test_a_score_s_attributions_give_their_policy_risk_types_largest_attribution_first_each_once():
    drivers = "disabled_share,medical_to_line,chronic_share"  # disability, then illness twice (risk_type_drivers)
    reason = ReasonRecord("model_risk", "red", "模型", "model", {"probability": 0.4, "drivers": drivers})
    proposals = with_model_causes([], reason, VALUES, FEATURE_WORDS, {})
    assert [p.risk_type for p in proposals] == ["illness", "disability"]  # the case's order: the vocabulary's
    assert attributed_risk_types(scored([reason], proposals)) == ("disability", "illness")
    rules = ReasonRecord("income_below_threshold", "yellow", "低", "low", {})
    fallback = RiskTypeRecord(risk_type="unstable_income", reason=rules.code, evidence="income_unexplained",
                              level="yellow", message_zh="低", message_en="low", fallback=True)  # fmt: skip
    assert attributed_risk_types(scored([rules], [fallback])) == ()  # the model raised nothing


def test_the_report_says_whether_the_model_s_attributions_point_to_the_cause_of_the_positives_it_raised():
    ts = rows(["illness", "illness", "illness", "disaster", "disaster", ""], [True] * 5 + [False])
    raised = np.asarray([True, True, False, True, False, True])
    attributed = [("illness",), ("unstable_income", "illness"), (), ("illness",), (), ("other",)]
    result = PeriodEvaluation("v1", ts, [], {}, np.zeros(6), raised, attributed=attributed)
    table = "\n".join(attribution_table(result))
    assert "| 因病 illness | 2 | 1.000 | 因病 illness |" in table  # both raised illness cases: attributed to illness
    assert "| 因灾 disaster | 1 | 0.000 | 因病 illness |" in table  # the raised disaster case: attributed elsewhere
    unnamed = PeriodEvaluation("v1", rows(["", ""], [True, False]), [], {}, np.zeros(2), np.asarray([True, False]),
                               attributed=[("illness",), ()])  # fmt: skip
    assert attribution_table(unnamed) == []


def test_an_out_of_time_evaluation_of_a_simulation_reports_recall_and_attributions_by_risk_type(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    events, labels = tmp_path / "events.jsonl", tmp_path / "labels.csv"
    main(["simulate", "--households", "400", "--seed", "3", "--months", "36", "--out", str(events),
          "--labels", str(labels)])  # fmt: skip
    main(["train", "--events", str(events), "--labels", str(labels), "--version", "causes-1", "--max-iter", "30",
          "--kinds", "logistic", "--bootstrap", "0", "--test-from", "2026-07-01"])  # fmt: skip
    capsys.readouterr()
    folder = tmp_path / "models" / "causes-1" / "evaluations" / "from-2026-07-01"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    by_type = summary["positives_by_risk_type"]
    assert sum(by_type.values()) == summary["positives"]  # every simulated fall names its cause
    model = summary["scorers"]["model causes-1"]
    recalls = summary["recall_at_10pct_by_risk_type"]["model causes-1"]
    caught = sum(recalls[name] * n for name, n in by_type.items())
    assert round(caught) == round(model["recall_at_10pct"] * summary["positives"])  # the breakdown adds up
    attributions = summary["model_attributions_by_risk_type"]
    raised = sum(found["raised"] for found in attributions.values())
    assert raised == round(model["recall_as_issued"] * summary["positives"]) > 0  # every raised positive, once
    assert {found["first_attribution"] for found in attributions.values()} <= set(VALUES.risk_type_drivers.values())
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "| 因病 illness | " in report and "The model's attributions by the risk type" in report
    assert "Recall at the 10 % budget by the risk type" in (folder.parent.parent / "report.md").read_text("utf-8")
