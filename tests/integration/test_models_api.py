"""Analysts list, activate, roll back and train risk models through the API; the demo starts with a model."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from services.analytics import registry
from services.common.kafka_auth import client_options
from services.scoring.model import activation_message
from tests.clients import create_user, login
from tests.infra import ROOT
from tests.models import applied_by_scoring, train_toy_model

pytestmark = pytest.mark.integration


@pytest.fixture
def restore_activation(stack):
    """Whatever model was active before the test is active again after it."""
    before = registry.active(registry.activations(stack.bootstrap))
    yield
    manifest = registry.verified(Path(stack.env["MODEL_DIR"]), str(before.version)) if before else None

    def restore() -> None:
        producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all")
        producer.send("models.activations", activation_message(manifest, "tests", datetime.now(UTC))).get(30)
        producer.close()

    applied_by_scoring(stack, restore, "tests")  # before the next test scores anything


def _active(stack, headers) -> str | None:
    return httpx.get(f"{stack.api_url}/models", headers=headers, timeout=30).json()["active"]


def test_an_analyst_lists_activates_and_rolls_back_versions_and_others_may_not(stack, restore_activation):
    folder = Path(stack.env["MODEL_DIR"])
    for version in ("api-1", "api-2"):
        train_toy_model(folder, version)
    analyst = create_user(stack, "ana.models", "analyst", "")  # the model is national
    worker = create_user(stack, "wang.models", "township_worker", "532328101")
    listed = httpx.get(f"{stack.api_url}/models", headers=analyst, timeout=30).json()
    by_version = {item["version"]: item for item in listed["items"]}
    assert {"api-1", "api-2"} <= set(by_version)
    item = by_version["api-1"]
    assert item["metrics"]["roc_auc"] == 0.9 and item["trained_by"] == "tests" and item["active"] is False
    assert item["features"] and "data_window" in item and "policy_version" in item

    for version in ("api-1", "api-2"):
        response = httpx.post(f"{stack.api_url}/models/{version}/activate", headers=analyst, timeout=30)
        assert response.status_code == 200 and response.json()["activated_by"] == "ana.models"
    assert _active(stack, analyst) == "api-2"
    assert httpx.post(f"{stack.api_url}/models/rollback", headers=analyst, timeout=30).json()["version"] == "api-1"
    assert _active(stack, analyst) == "api-1"

    assert httpx.get(f"{stack.api_url}/models", headers=worker, timeout=30).status_code == 403
    assert httpx.post(f"{stack.api_url}/models/api-2/activate", headers=worker, timeout=30).status_code == 403
    assert httpx.post(f"{stack.api_url}/models/nope/activate", headers=analyst, timeout=30).status_code == 404
    (folder / "api-2" / "model.joblib").write_bytes(b"tampered")
    assert httpx.post(f"{stack.api_url}/models/api-2/activate", headers=analyst, timeout=30).status_code == 409
    assert _active(stack, analyst) == "api-1"


def training(stack, headers, job: str) -> dict:
    return httpx.get(f"{stack.api_url}/models/train/{job}", headers=headers, timeout=30).json()


def test_training_through_the_api_runs_as_a_job_and_registers_a_version(stack):
    admin = login(stack)
    body = {"households": 300, "seed": 4, "max_iter": 20, "version": "api-trained"}
    started = httpx.post(f"{stack.api_url}/models/train", json=body, headers=admin, timeout=30)
    assert started.status_code == 202 and started.json()["status"] == "queued"
    job, deadline = started.json()["job"], time.monotonic() + 300
    while (status := training(stack, admin, job))["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "training did not finish"
        time.sleep(1)
    assert status["status"] == "done", status
    listed = {i["version"]: i for i in httpx.get(f"{stack.api_url}/models", headers=admin, timeout=30).json()["items"]}
    assert listed["api-trained"]["trained_by"] == "admin" and listed["api-trained"]["report"] is True
    again = httpx.post(f"{stack.api_url}/models/train", json=body, headers=admin, timeout=30)
    assert again.status_code == 409 and "version" in again.text


def test_trainings_run_one_at_a_time_and_a_killed_jobs_process_finishes_its_training_exactly_once(stack):
    admin, folder = login(stack), Path(stack.env["MODEL_DIR"])
    body = {"households": 300, "seed": 5, "max_iter": 20}
    url = f"{stack.api_url}/models/train"
    jobs = [httpx.post(url, json=body, headers=admin, timeout=30).json()["job"] for _ in "ab"]

    def states_now() -> tuple[str, ...]:
        return tuple(training(stack, admin, job)["status"] for job in jobs)

    killed = None
    for _ in range(3):  # until the kill lands mid-training (a training may end between a look and the kill)
        deadline = time.monotonic() + 120
        while "running" not in (states := states_now()):
            assert time.monotonic() < deadline, f"no training started: {states}"
            time.sleep(0.3)
        for _ in range(5):  # the other one waits its turn (TRAINING_CONCURRENCY is 1)
            assert states_now().count("running") <= 1
            time.sleep(0.3)
        stack.processes["jobs"].kill()  # kill -9 (its training child dies with it)
        frozen = states_now()  # no record changes while no jobs process runs: "running" was cut short
        stack.start("jobs")
        if "running" in frozen:
            killed = jobs[frozen.index("running")]
            break
    assert killed is not None, "no kill landed mid-training"
    deadline = time.monotonic() + 600
    while {"queued", "running"} & set(states := states_now()):
        assert time.monotonic() < deadline, f"trainings did not finish: {states}"
        time.sleep(0.5)
    assert states == ("done", "done")
    assert training(stack, admin, killed)["attempt"] >= 2  # taken up again after the kill
    versions = [training(stack, admin, job)["version"] for job in jobs]
    assert len(set(versions)) == 2 and all((folder / version / "manifest.json").is_file() for version in versions)


def test_the_demo_activates_a_trained_model_so_alerts_carry_model_risk_from_the_start(stack, restore_activation):
    env = {**os.environ, **stack.env, "DEMO_INGEST_URL": stack.ingest_url, "DEMO_INGEST_KEY": stack.ingest_key,
           "DEMO_HOUSEHOLDS": "300", "DEMO_TRAIN_HOUSEHOLDS": "600", "DEMO_SEED": "31"}  # fmt: skip
    demo = subprocess.Popen([sys.executable, "-m", "services.demo.county"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        headers, deadline = login(stack), time.monotonic() + 480
        reasons: set[str] = set()
        while "model_risk" not in reasons:
            assert demo.poll() is None, demo.stdout.read().decode() if demo.stdout else ""
            assert time.monotonic() < deadline, "no model_risk alert from the demo"
            page = httpx.get(
                f"{stack.api_url}/alerts", params={"region_code": "532328", "limit": 500}, headers=headers
            ).json()
            reasons = {
                r["code"] for item in page["items"] if item["household_id"].startswith("YM") for r in item["reasons"]
            }
            time.sleep(1)
        assert _active(stack, headers) == "demo-31-600"
    finally:
        demo.terminate()
        demo.wait(30)
