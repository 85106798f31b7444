"""Analysts see causes too: labels name the risk type of a positive (a confirmed case's main one, a simulation's
cause), and evaluation breaks recall down by it, so that the report shows which causes a scorer misses."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from services.analytics.evaluation import evaluate, risk_type_positives
from services.analytics.history import write_simulation
from services.analytics.labels import LabelError, Labels, Outcome, read_outcomes, verdict_outcomes, write_outcomes
from services.analytics.report import risk_type_table
from services.analytics.simulator import SimConfig
from services.analytics.training_set import TrainingSet
from services.scoring.features import FEATURES


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
