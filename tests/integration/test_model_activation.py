"""Activating a model version reaches the running scoring worker without a restart."""

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from services.common.kafka_auth import client_options
from services.scoring.model import activation_message
from tests.clients import login, post_event, wait_for_alert
from tests.factories import registration
from tests.models import applied_by_scoring, train_toy_model

pytestmark = pytest.mark.integration


def activate(stack, manifest) -> None:
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all")
    producer.send("models.activations", activation_message(manifest, "analyst.test", datetime.now(UTC))).get(30)
    producer.close()


def household_scored_by(stack, household_id: str, seconds: float = 60) -> dict:
    headers, deadline = login(stack), time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = httpx.get(f"{stack.api_url}/households/{household_id}", headers=headers)
        if response.status_code == 200:
            return response.json()
        time.sleep(0.2)
    raise TimeoutError(household_id)


@pytest.fixture
def rules_only_afterwards(stack):
    yield
    applied_by_scoring(stack, lambda: activate(stack, None), "analyst.test")  # the other tests expect rules only
    shutil.rmtree(Path(stack.env["MODEL_DIR"]) / "it-2", ignore_errors=True)


def test_an_activated_model_scores_new_events_without_a_restart_and_a_tampered_one_is_refused(
    stack, rules_only_afterwards
):
    assert post_event(stack, registration("HM0", 20000, members=2)).status_code == 202
    before = household_scored_by(stack, "HM0")
    assert before["scoring_mode"] == "rules_only" and before["model_version"] is None

    folder = Path(stack.env["MODEL_DIR"])
    activate(stack, train_toy_model(folder, "it-1"))
    deadline = time.monotonic() + 60
    while True:  # the activation is read asynchronously; keep sending fresh households until it is in use
        household_id = f"HM{int(time.monotonic() * 1000)}"
        post_event(stack, registration(household_id, 20000, members=2))  # 10,000 per person: above 8,700
        scored = household_scored_by(stack, household_id)
        if scored["model_version"] == "it-1":
            break
        assert time.monotonic() < deadline, "the worker never picked the model up"
    assert scored["scoring_mode"] == "rules_and_model" and scored["level"] == "red"
    alert = wait_for_alert(stack, household_id, login(stack))
    assert [r["code"] for r in alert["reasons"]] == ["model_risk"]

    tampered = train_toy_model(folder, "it-2")
    (folder / "it-2" / "model.joblib").write_bytes(b"tampered")
    applied_by_scoring(stack, lambda: activate(stack, tampered), "analyst.test")  # refused
    post_event(stack, registration("HM-after", 20000, members=2))
    assert household_scored_by(stack, "HM-after")["model_version"] == "it-1"
