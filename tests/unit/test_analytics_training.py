"""Training, honest evaluation and the registry record: validated out of household and time, next to baselines."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from services.analytics.backtest import backtest, load_version
from services.analytics.cli import main
from services.analytics.pipeline import TRAINING_MONTHS, simulated_training_set
from services.analytics.report import write_report
from services.analytics.selection import LeakingSplit, Options, Split, honest_splits
from services.analytics.simulator import SimConfig
from services.analytics.training import register, train
from services.common.settings import REPO_ROOT
from services.scoring.features import FEATURES
from services.scoring.model import ModelRegistry

OPTIONS = Options(max_iter=40, max_leaf_nodes=(4,), C=(0.1,))


@pytest.fixture(scope="module")
def simulated():
    return simulated_training_set(SimConfig(households=800, seed=21, months=TRAINING_MONTHS)).training_set


@pytest.fixture(scope="module")
def trained(simulated):
    return train(simulated, OPTIONS, bootstrap_rounds=40)


def test_a_split_with_a_household_on_both_sides_or_labels_reaching_the_checked_period_cannot_be_built(simulated):
    ts = simulated
    day = np.asarray([ts.cutoffs[c] for c in ts.cutoff])
    early, late = np.nonzero(day == min(day))[0], np.nonzero(day == max(day))[0]
    with pytest.raises(LeakingSplit, match="on both sides"):
        Split.checked(ts, early, late)  # every household at both cut-offs
    first = ts.household[early[0]]
    mine, others = ts.household == first, ts.household != first
    later_but_close = np.nonzero(others & (day == sorted(set(day))[3]))[0]
    with pytest.raises(LeakingSplit, match="reach past"):
        Split.checked(ts, later_but_close, np.nonzero(mine & (day == sorted(set(day))[5]))[0])  # 2 months apart


def test_every_validation_split_holds_its_households_out_and_fits_a_horizon_earlier(simulated):
    scheme = honest_splits(simulated)
    assert scheme.splits and "disjoint groups of households" in scheme.words
    for split in scheme.splits:
        assert not set(simulated.household[split.fit]) & set(simulated.household[split.check])
        last_fit = simulated.cutoffs[simulated.cutoff[split.fit].max()]
        first_check = simulated.cutoffs[simulated.cutoff[split.check].min()]
        assert (first_check - last_fit).days >= 365


def test_the_model_beats_rules_only_and_is_shown_next_to_every_baseline_with_intervals(trained):
    names = [e.name for e in trained.evaluations]
    assert names[1:] == ["rules only", "rank by income after rigid spending", "plain logistic regression"]
    model, rules = trained.evaluations[0].metrics, trained.evaluations[1].metrics
    assert model["recall_at_10pct"] > rules["recall_at_10pct"] and model["roc_auc"] > 0.7
    low, high = trained.evaluations[0].intervals["roc_auc"]
    assert low < model["roc_auc"] < high
    assert set(trained.differences) == set(names[1:])
    assert {"logistic regression, income unpenalised, C=0.1"} < set(trained.selection) and len(trained.selection) == 3


def test_a_registered_version_records_honest_figures_baselines_budget_cuts_and_cost(trained, tmp_path: Path):
    manifest = register(trained, tmp_path, "analyst.li", "v-test")
    stored = ModelRegistry(tmp_path).manifest("v-test")
    assert stored == manifest and stored.trained_by == "analyst.li" and stored.features == trained.features
    assert {"roc_auc", "roc_auc_low", "income_rank_roc_auc", "logistic_roc_auc", "rules_roc_auc"} <= set(stored.metrics)
    assert stored.metrics["roc_auc"] == round(trained.model.metrics["roc_auc"], 4)  # the validation, not in-sample
    assert stored.metrics["predict_us_per_row"] > 0 and stored.model_kind in trained.selection
    assert "held out" in (stored.data_window or "") and stored.validation["households"] > 0
    cuts = [stored.budget_cuts[k] for k in sorted(stored.budget_cuts)]
    assert len(cuts) == 50 and cuts == sorted(cuts, reverse=True)
    model = load_version(tmp_path, "v-test")
    probability, _ = model.assess(dict.fromkeys(FEATURES, 1.0))
    assert 0 <= probability <= 1


def test_the_report_is_markdown_with_plots_baselines_and_intervals(trained, tmp_path: Path):
    text = write_report(trained, tmp_path, "Risk model test").read_text(encoding="utf-8")
    assert "| recall at 10% budget |" in text and "rank by income after rigid spending" in text and "532328" in text
    assert "minus each baseline" in text and "µs a row" in text
    assert all((tmp_path / name).stat().st_size > 1000 for name in ("reliability.png", "recall_at_budget.png"))


def test_the_report_s_county_table_names_each_county_next_to_its_code(trained, tmp_path: Path):
    lines = write_report(trained, tmp_path, "Risk model test").read_text(encoding="utf-8").splitlines()
    first = lines.index(next(line for line in lines if line.startswith("| county |"))) + 2
    table = lines[first : lines.index("", first)]  # the county table ends at the first blank line
    rows = [line.split(" | ")[0].removeprefix("| ") for line in table]
    assert rows and "元谋县 (532328)" in rows
    assert all(re.fullmatch(r"\S+[县市] \(5323\d\d\)", row) for row in rows)


def test_a_backtest_reports_alerts_lead_time_and_missed_cases(trained, tmp_path: Path):
    register(trained, tmp_path, "analyst.li", "v-bt")
    result = backtest(tmp_path, "v-bt", REPO_ROOT / "policy", SimConfig(households=300, seed=5), "2025-03", "2025-12")
    assert result["true_cases"] == result["caught_before_or_when_falling"] + result["missed"] > 0
    assert result["households_alerted"] > 0 and result["median_lead_days"] >= 0


def test_the_cli_trains_from_an_exported_history_and_its_labels(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    events, labels = tmp_path / "events.jsonl", tmp_path / "labels.csv"
    main(["simulate", "--households", "400", "--seed", "3", "--months", "36", "--out", str(events),
          "--labels", str(labels)])  # fmt: skip
    assert json.loads(capsys.readouterr().out)["households"] == 400
    main(["train", "--events", str(events), "--labels", str(labels), "--version", "export-1", "--max-iter", "30",
          "--kinds", "logistic", "--bootstrap", "20"])  # fmt: skip
    out = capsys.readouterr().out
    assert "registered export-1 (logistic regression" in out and "households held out" in out
    assert (tmp_path / "models" / "export-1" / "report.md").exists()


def test_the_cli_refuses_a_malformed_date_naming_the_option_with_exit_status_2(capsys):
    with pytest.raises(SystemExit) as refused:
        main(["train", "--households", "10", "--train-until", "1984-13-01"])
    assert refused.value.code == 2
    assert "--train-until" in capsys.readouterr().err
