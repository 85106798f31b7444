"""Real development data: the NLSY wage panel through the CLI only (import, train, evaluate), honestly evaluated."""

import json
from datetime import date

import numpy as np
import pytest

from services.analytics.backtest import load_version
from services.analytics.cli import main
from services.analytics.history import group, read_jsonl
from services.analytics.labels import Labels, read_outcomes
from services.analytics.out_of_time import evaluate_period
from services.analytics.selection import Options, honest_splits, informative
from services.analytics.training import train
from services.analytics.training_set import build, later_cutoffs
from services.common.policy import PolicyBook
from services.scoring.features import FEATURES
from tests.panels import nlsy_panel


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    return nlsy_panel(tmp_path_factory.mktemp("wage-panel"))


@pytest.fixture(scope="module")
def trained(panel, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", str(models))
        main(["train", "--events", str(panel / "events.jsonl"), "--labels", str(panel / "labels.csv"),
              "--policy-dir", str(panel / "policy"), "--train-until", "1984-12-31", "--test-from", "1985-01-01",
              "--version", "nlsy-1", "--max-iter", "60", "--max-leaf-nodes", "4", "--bootstrap", "30"])  # fmt: skip
    return models


def test_each_year_a_fifth_of_the_panel_is_below_its_line(panel):
    outcomes = list(read_outcomes(panel / "labels.csv"))
    assert len(outcomes) == 545 * 8
    for year in range(1980, 1988):
        below = [o.outcome == "below_line" for o in outcomes if o.as_of.year == year]
        assert 0.17 < np.mean(below) <= 0.21


def test_the_model_trained_to_1984_is_validated_honestly_and_scores_1985_to_1987_out_of_time(trained):
    manifest = json.loads((trained / "nlsy-1" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["labels_until"] == "1984-12-31" and "1983-12-31" in manifest["data_window"]
    test = json.loads((trained / "nlsy-1" / "evaluations" / "from-1985-01-01" / "summary.json").read_text())
    assert test["cutoffs"] == ["1984-12-31", "1985-12-31", "1986-12-31"]
    scorers = test["scorers"]
    model, rank = scorers["model nlsy-1"]["roc_auc"], scorers["rank by income after rigid spending"]["roc_auc"]
    assert model > 0.75 and model > scorers["rules only"]["roc_auc"] + 0.2 and model > rank - 0.02
    assert abs(manifest["metrics"]["roc_auc"] - model) < 0.1  # the CLI's own validation is an honest estimate


def test_evaluate_scores_as_the_stream_does_and_refuses_cut_offs_the_model_learnt_from(
    panel, trained, monkeypatch, capsys
):
    events, labels = group(read_jsonl(panel / "events.jsonl")), Labels(read_outcomes(panel / "labels.csv"))
    policies = PolicyBook.load(panel / "policy")
    cutoffs = later_cutoffs(labels, date(1986, 1, 1))
    result = evaluate_period(trained, "nlsy-1", events, labels, cutoffs, policies, bootstrap_rounds=0)
    rows = build(sorted(events.items()), labels, cutoffs, policies)
    model = load_version(trained, "nlsy-1")
    expected = model.probabilities(rows.X[:, [FEATURES.index(f) for f in model.manifest.features]])
    assert len(rows) == len(result.rows) > 700 and np.allclose(np.sort(expected), np.sort(result.probabilities))
    monkeypatch.setenv("MODEL_DIR", str(trained))
    args = ["evaluate", "--model", "nlsy-1", "--events", str(panel / "events.jsonl"), "--labels",
            str(panel / "labels.csv"), "--policy-dir", str(panel / "policy"), "--bootstrap", "0"]  # fmt: skip
    with pytest.raises(SystemExit):
        main([*args, "--at", "1983-12-31"])
    assert "learnt from outcomes up to 1984-12-31" in capsys.readouterr().err
    main([*args, "--at", "1985-12-31", "--out", str(panel / "evaluation")])
    assert json.loads(capsys.readouterr().out.rsplit("report:", 1)[0])["cutoffs"] == ["1985-12-31"]
    assert (panel / "evaluation" / "report.md").exists() and (panel / "evaluation" / "reliability.png").exists()


def test_on_one_survey_wave_the_year_before_is_left_out_and_validation_says_it_is_out_of_household_only(panel):
    events, labels = group(read_jsonl(panel / "events.jsonl")), Labels(read_outcomes(panel / "labels.csv"))
    first_wave = build(sorted(events.items()), labels, [date(1980, 12, 31)], PolicyBook.load(panel / "policy"))
    kept = informative(first_wave.X)
    assert "income_to_line" in kept and "year_before_to_line" not in kept and "members" not in kept
    scheme = honest_splits(first_wave)
    assert "out of household but not out of time" in scheme.words and len(scheme.splits) == 3
    trained = train(first_wave, Options(kinds=("logistic",), C=(1.0,)), bootstrap_rounds=0)
    assert trained.features == kept and "year_before_to_line" in trained.left_out
