"""Analysts evaluate a registered version on a later period through the API, as the stream would score it."""

from pathlib import Path

import httpx
import pytest

from services.analytics.cli import main
from services.analytics.history import write_simulation
from services.analytics.simulator import SimConfig
from tests.clients import create_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def history(stack, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("evaluation-history")
    events, labels = folder / "events.jsonl", folder / "labels.csv"
    write_simulation(SimConfig(households=300, seed=8, months=36), events, labels)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", stack.env["MODEL_DIR"])
        main(["train", "--events", str(events), "--labels", str(labels), "--train-until", "2026-12-31",
              "--kinds", "logistic", "--bootstrap", "10", "--version", "eval-api-1"])  # fmt: skip
    return events, labels


def _post(stack, headers, history, **form):
    events, labels = history
    files = {"events": ("events.jsonl", events.read_bytes()), "labels": ("labels.csv", labels.read_bytes())}
    return httpx.post(f"{stack.api_url}/models/eval-api-1/evaluations", files=files, data=form, headers=headers,
                      timeout=300)  # fmt: skip


def test_an_analyst_evaluates_a_later_period_and_reads_the_report_and_others_may_not(stack, history):
    analyst = create_user(stack, "ana.evaluations", "analyst", "53")
    worker = create_user(stack, "wang.evaluations", "township_worker", "532328101")
    done = _post(stack, analyst, history, at="2026-12-31")
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["cutoffs"] == ["2026-12-31"] and body["rows"] > 200
    assert {"rules only", "rank by income after rigid spending", "plain logistic regression"} < set(body["scorers"])
    listed = httpx.get(f"{stack.api_url}/models/eval-api-1/evaluations", headers=analyst, timeout=30).json()
    assert body["evaluation"] in {item["evaluation"] for item in listed["items"]}
    report = httpx.get(f"{stack.api_url}/models/eval-api-1/evaluations/{body['evaluation']}/report", headers=analyst)
    assert report.status_code == 200 and "scored exactly as the stream scores" in report.text
    assert _post(stack, worker, history, at="2026-12-31").status_code == 403


def test_a_cut_off_inside_the_training_labels_is_refused_with_the_reason(stack, history):
    analyst = create_user(stack, "ana.evaluations2", "analyst", "53")
    refused = _post(stack, analyst, history, at="2026-06-30")
    assert refused.status_code == 422 and "learnt from outcomes up to 2026-12-31" in refused.text
    assert _post(stack, analyst, history).status_code == 422  # no period named
