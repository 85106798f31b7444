"""Evaluations run in the jobs process, a few per analyst at a time: the API only keeps the files and queues the job."""

import time
from pathlib import Path

import httpx
import pytest

from services.analytics.cli import main
from services.analytics.history import write_simulation
from services.analytics.simulator import SimConfig
from tests.clients import create_user, login

pytestmark = pytest.mark.integration
VERSION = "sec-eval-1"


@pytest.fixture(scope="module")
def history(stack, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sec-evaluation")
    events, labels = folder / "events.jsonl", folder / "labels.csv"
    write_simulation(SimConfig(households=200, seed=9, months=36), events, labels)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODEL_DIR", stack.env["MODEL_DIR"])
        main(["train", "--events", str(events), "--labels", str(labels), "--train-until", "2026-12-31",
              "--kinds", "logistic", "--bootstrap", "10", "--version", VERSION])  # fmt: skip
    return events, labels


def evaluate(stack, headers, history, **form) -> httpx.Response:
    events, labels = history
    files = {"events": ("events.jsonl", events.read_bytes()), "labels": ("labels.csv", labels.read_bytes())}
    return httpx.post(f"{stack.api_url}/models/{VERSION}/evaluations", files=files, data=form, headers=headers,
                      timeout=120)  # fmt: skip


def test_an_evaluation_waits_for_the_jobs_process_and_an_analyst_queues_only_a_few(stack, history):
    analyst = create_user(stack, "sec.evaluator", "analyst", "53")
    stack.processes["jobs"].stop()
    try:
        first = evaluate(stack, analyst, history, at="2026-12-31", wait="0")
        assert first.status_code == 202 and first.json()["status"] == "queued", first.text
        assert evaluate(stack, analyst, history, at="2026-12-31", wait="0").status_code == 202
        refused = evaluate(stack, analyst, history, at="2026-12-31", wait="0")
        assert refused.status_code == 429 and refused.headers["retry-after"]
    finally:
        stack.start("jobs")
    job = first.json()
    deadline = time.monotonic() + 300
    while (record := httpx.get(f"{stack.api_url}{job['poll']}", headers=analyst).json())["status"] != "done":
        assert record["status"] in ("queued", "running") and time.monotonic() < deadline, record
        time.sleep(0.5)
    assert record["summary"]["cutoffs"] == ["2026-12-31"] and record["summary"]["rows"] > 100
    assert not (Path(stack.env["EVALUATION_DIR"]) / job["job"]).exists()  # the uploaded files are gone
    audit = httpx.get(f"{stack.api_url}/audit", params={"user": "sec.evaluator"}, headers=login(stack)).json()["items"]
    assert {(entry["action"], entry["target"]) for entry in audit} == {("model.evaluation_queued", f"model:{VERSION}")}
