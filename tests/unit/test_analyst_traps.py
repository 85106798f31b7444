"""The analyst's path has no traps: a test period never leaks into training, baselines stay numerically sound, the
policy line of every cut-off is said or refused, unknown versions are named, meaningless figures are n/a, and every
reported figure can be recomputed from scores.csv."""

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from sklearn.metrics import roc_auc_score

from services.analytics.cli import main
from tests.panels import nlsy_panel

RANK = "rank by income after rigid spending"


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    return nlsy_panel(tmp_path_factory.mktemp("traps"))


@pytest.fixture(scope="module")
def models(panel, tmp_path_factory):
    """One version trained with --test-from alone, on the first wave (cut-off 1980, outcomes of 1981)."""
    folder = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", str(folder))
        main(["train", *_data(panel), "--policy-dir", str(panel / "policy"), "--test-from", "1982-01-01",
              "--version", "first-wave", "--kinds", "logistic", "--bootstrap", "20"])  # fmt: skip
    return folder


def _data(panel: Path) -> list[str]:
    return ["--events", str(panel / "events.jsonl"), "--labels", str(panel / "labels.csv")]


def _manifest(models: Path, version: str) -> dict:
    return json.loads((models / version / "manifest.json").read_text(encoding="utf-8"))


def _evaluate(panel: Path, models: Path, monkeypatch, *args: str) -> None:
    monkeypatch.setenv("MODEL_DIR", str(models))
    main(["evaluate", "--model", "first-wave", *_data(panel), "--bootstrap", "0", *args])


def test_test_from_alone_learns_only_outcomes_before_the_test_period(models):
    manifest = _manifest(models, "first-wave")
    assert manifest["labels_until"] == "1981-12-31"  # the day before --test-from
    assert "train cut-offs 1980-12-31..1980-12-31" in manifest["data_window"]  # 1981's outcomes are 1982's: left out


def test_evaluate_refuses_a_period_whose_outcomes_the_model_learnt_from(panel, models, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        _evaluate(panel, models, monkeypatch, "--policy-dir", str(panel / "policy"), "--at", "1980-12-31")
    assert "learnt from outcomes up to 1981-12-31" in capsys.readouterr().err


def test_a_train_until_inside_the_test_period_is_refused(panel, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["train", *_data(panel), "--policy-dir", str(panel / "policy"), "--train-until", "1983-12-31",
              "--test-from", "1983-01-01"])  # fmt: skip
    assert "is not before --test-from" in capsys.readouterr().err


def test_the_plain_logistic_baseline_stays_sound_out_of_time_when_a_feature_was_constant_in_training(models):
    summary = json.loads((models / "first-wave" / "evaluations" / "from-1982-01-01" / "summary.json").read_text())
    plain, rank = summary["scorers"]["plain logistic regression"], summary["scorers"][RANK]
    assert plain["roc_auc"] > rank["roc_auc"] - 0.05 and plain["brier"] < 0.2  # was 0.46 and 0.45 when it collapsed


def test_evaluate_without_a_policy_for_the_panels_years_is_refused_naming_the_cut_off(panel, models, monkeypatch,
                                                                                     capsys):  # fmt: skip
    with pytest.raises(SystemExit):
        _evaluate(panel, models, monkeypatch, "--at", "1985-12-31")  # the project's policy starts in 2021
    assert "no policy file covers cut-off 1985-12-31" in capsys.readouterr().err


def test_evaluate_says_which_line_it_measured_each_cut_off_against(panel, models, monkeypatch, capsys, tmp_path):
    _evaluate(panel, models, monkeypatch, "--policy-dir", str(panel / "policy"), "--at", "1984-12-31,1985-12-31",
              "--out", str(tmp_path))  # fmt: skip
    found = json.loads(capsys.readouterr().out.rsplit("report:", 1)[0])
    assert found["monitoring_lines"] == {"1984-12-31": [{"policy": "panel-1984", "line": 8391.61}],
                                         "1985-12-31": [{"policy": "panel-1985", "line": 8972.98}]}  # fmt: skip


def test_an_unknown_version_is_named_with_the_model_folder(panel, models, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_DIR", str(models))
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", "no-such", *_data(panel), "--at", "1985-12-31"])
    assert f"model no-such is not registered in MODEL_DIR ({models})" in capsys.readouterr().err


def test_on_yearly_outcomes_the_lead_time_and_tiny_county_recalls_are_na_with_the_reason(models):
    summary = json.loads((models / "first-wave" / "evaluations" / "from-1982-01-01" / "summary.json").read_text())
    model = summary["scorers"]["model first-wave"]
    assert "median_lead_days_at_10pct" not in model and "county_recall_worst_to_best" not in model
    assert "once a period" in model["not_applicable"]["median_lead_days_at_10pct"]
    assert "fewer than two counties" in model["not_applicable"]["county_recall_worst_to_best"]
    report = (models / "first-wave" / "evaluations" / "from-1982-01-01" / "report.md").read_text(encoding="utf-8")
    assert "| median lead time, days (10% budget) | n/a |" in report


def test_every_figure_can_be_recomputed_from_scores_csv(models):
    folder = models / "first-wave" / "evaluations" / "from-1982-01-01"
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    by_scorer: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    with (folder / "scores.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            labels, scores = by_scorer[row["scorer"]]
            labels.append(int(row["label"]))
            scores.append(float(row["score"]))
    assert set(by_scorer) == set(summary["scorers"]) and len(by_scorer[RANK][0]) == summary["rows"]
    for name, (labels, scores) in by_scorer.items():
        assert abs(roc_auc_score(labels, scores) - summary["scorers"][name]["roc_auc"]) < 0.0005


def test_a_panel_whose_waves_are_further_apart_than_the_horizon_says_which_horizon_to_train_with(
    panel, tmp_path, monkeypatch, capsys
):
    labels = tmp_path / "labels.csv"
    rows = (panel / "labels.csv").read_text(encoding="utf-8").splitlines()
    labels.write_text(
        "\n".join(r for r in rows if r.startswith("household") or ",198" in r and r.split(",")[1][3] in "036") + "\n",
        encoding="utf-8",
    )  # 1980, 1983, 1986: three years apart
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    with pytest.raises(SystemExit):
        main(["train", "--events", str(panel / "events.jsonl"), "--labels", str(labels), "--policy-dir",
              str(panel / "policy"), "--test-from", "1986-01-01"])  # fmt: skip
    assert "train with --horizon-months 36" in capsys.readouterr().err
