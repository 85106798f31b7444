"""Shadow mode: a candidate scores next to the active model in the stream, never alerts, and is compared."""

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest

from tests.clients import create_user, login, post_event, read_topic
from tests.factories import registration
from tests.models import applied_by_scoring, train_toy_model

pytestmark = pytest.mark.integration


@pytest.fixture
def analyst(stack):
    headers = create_user(stack, "ana.shadow", "analyst", "")  # the model is national
    yield headers

    def stop_shadowing() -> None:
        httpx.delete(f"{stack.api_url}/models/shadow", headers=headers, timeout=30).raise_for_status()

    applied_by_scoring(stack, stop_shadowing, "ana.shadow")
    shutil.rmtree(Path(stack.env["MODEL_DIR"]) / "shadow-1", ignore_errors=True)


def scored(stack, headers, household_id: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = httpx.get(f"{stack.api_url}/households/{household_id}", headers=headers)
        if response.status_code == 200:
            return response.json()
        time.sleep(0.2)
    raise TimeoutError(household_id)


def shadow_scores(stack) -> dict[str, dict]:
    return {
        doc["household_id"]: doc
        for doc in map(json.loads, (m.value for m in read_topic(stack.bootstrap, "scores.shadow")))
    }


def first_household_with_shadow(stack, admin, want: bool, seconds: float = 60) -> tuple[str, dict | None]:
    """Send fresh households until one is scored with (want=True) or without (want=False) a shadow score."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        household_id = f"HSH{int(time.monotonic() * 1000)}"
        post_event(stack, registration(household_id, 20000, members=2))  # 10,000 per person: above 8,700
        scored(stack, admin, household_id)
        time.sleep(1)
        shadow = shadow_scores(stack).get(household_id)
        if (shadow is not None) == want:
            return household_id, shadow
    raise TimeoutError(f"no household scored {'with' if want else 'without'} a shadow score")


def test_a_candidate_in_shadow_scores_alongside_the_active_model_without_alerting_and_is_reported(stack, analyst):
    admin = login(stack)
    train_toy_model(Path(stack.env["MODEL_DIR"]), "shadow-1")
    started = httpx.post(f"{stack.api_url}/models/shadow-1/shadow", headers=analyst, timeout=30)
    assert started.status_code == 200 and started.json()["role"] == "shadow"
    listed = httpx.get(f"{stack.api_url}/models", headers=analyst, timeout=30).json()
    assert listed["shadow"] == "shadow-1" and listed["active"] != "shadow-1"

    household_id, shadow = first_household_with_shadow(stack, admin, want=True)
    assert shadow["candidate_version"] == "shadow-1" and shadow["candidate_level"] == "red"
    assert shadow["active_level"] == "green" and shadow["candidate_probability"] > 0.5
    household = scored(stack, admin, household_id)
    assert household["level"] == "green" and household["model_version"] != "shadow-1"
    alerts = httpx.get(f"{stack.api_url}/alerts", params={"household_id": household_id}, headers=admin).json()
    assert alerts["items"] == []  # the candidate's red never reaches the alerts service

    report = httpx.get(f"{stack.api_url}/models/shadow/report", headers=analyst, timeout=60).json()
    assert report["candidate"] == "shadow-1" and report["households"] >= 1
    assert report["candidate_only"] >= 1 and report["levels_active_to_candidate"].get("green->red", 0) >= 1

    worker = create_user(stack, "wang.shadow", "township_worker", "532328101")
    assert httpx.post(f"{stack.api_url}/models/shadow-1/shadow", headers=worker, timeout=30).status_code == 403

    httpx.delete(f"{stack.api_url}/models/shadow", headers=analyst, timeout=30).raise_for_status()
    first_household_with_shadow(stack, admin, want=False)
    assert httpx.get(f"{stack.api_url}/models/shadow/report", headers=analyst, timeout=30).status_code == 409
