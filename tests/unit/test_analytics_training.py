"""Training, evaluation and the registry record: the model beats rules only out of time, and says so."""

import json
from pathlib import Path

import pytest

from services.analytics.backtest import backtest, load_version
from services.analytics.cli import main
from services.analytics.pipeline import simulated_training_set
from services.analytics.report import write_report
from services.analytics.simulator import SimConfig
from services.analytics.training import register, train
from services.common.settings import REPO_ROOT
from services.scoring.features import FEATURES
from services.scoring.model import ModelRegistry


@pytest.fixture(scope="module")
def trained():
    simulated = simulated_training_set(SimConfig(households=800, seed=21), workers=1)
    return train(simulated.training_set, max_iter=40)


def test_the_model_beats_rules_only_at_a_ten_percent_budget_out_of_time(trained):
    model, rules = trained.evaluations[0].metrics, trained.evaluations[1].metrics
    assert model["recall_at_10pct"] > rules["recall_at_10pct"]
    assert model["roc_auc"] > 0.75 and 0 < model["brier"] < 0.1
    assert max(trained.train.cutoff) < min(trained.validation.cutoff)


def test_a_registered_version_records_metrics_data_window_features_policy_and_trainer(trained, tmp_path: Path):
    manifest = register(trained, tmp_path, "analyst.li", "v-test")
    stored = ModelRegistry(tmp_path).manifest("v-test")
    assert stored == manifest and stored.trained_by == "analyst.li" and stored.features == list(FEATURES)
    assert {"roc_auc", "pr_auc", "brier", "recall_at_10pct"} <= set(stored.metrics)
    assert stored.policy_version == "2025.2" and stored.data_window and "validate" in stored.data_window
    model = load_version(tmp_path, "v-test")
    probability, _ = model.assess(dict.fromkeys(FEATURES, 1.0))
    assert 0 <= probability <= 1


def test_the_report_is_markdown_with_plots_next_to_rules_only(trained, tmp_path: Path):
    path = write_report(trained, tmp_path, "Risk model test")
    text = path.read_text(encoding="utf-8")
    assert "| recall at 10% budget |" in text and "rules only" in text and "532328" in text
    assert all((tmp_path / name).stat().st_size > 1000 for name in ("reliability.png", "recall_at_budget.png"))


def test_a_backtest_reports_alerts_lead_time_and_missed_cases(trained, tmp_path: Path):
    register(trained, tmp_path, "analyst.li", "v-bt")
    result = backtest(tmp_path, "v-bt", REPO_ROOT / "policy", SimConfig(households=300, seed=5), "2025-03", "2025-12")
    assert result["true_cases"] == result["caught_before_or_when_falling"] + result["missed"] > 0
    assert result["households_alerted"] > 0 and result["median_lead_days"] >= 0


def test_the_cli_trains_from_an_exported_history_and_its_truth(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.jsonl"
    main(["simulate", "--households", "400", "--seed", "3", "--out", str(events), "--truth", str(truth)])
    assert json.loads(capsys.readouterr().out)["households"] == 400
    main(["train", "--events", str(events), "--truth", str(truth), "--version", "export-1", "--max-iter", "30"])
    assert "registered export-1" in capsys.readouterr().out
    assert (tmp_path / "models" / "export-1" / "report.md").exists()
