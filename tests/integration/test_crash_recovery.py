"""kill -9 and restarts lose nothing and double-count nothing."""

import time
from datetime import UTC, datetime

import httpx
import pytest

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.service import score_event
from services.scoring.state import HouseholdState
from tests.clients import login, post_batch, post_event
from tests.factories import income, registration

pytestmark = pytest.mark.integration


def county(prefix: str, households: int) -> list[dict]:
    """Registrations then a year of monthly incomes, some households falling below the line."""
    events = []
    for n in range(households):
        hid = f"{prefix}{n:03d}"
        events.append(registration(hid, 40000 + 1000 * n, members=4))
        for month in range(1, 13):
            amount = 200 if (n % 3 == 0 and month > 6) else 3500 + n
            events.append(income(hid, f"2024-{month:02d}", amount))
    return events


def uninterrupted_figures(events: list[dict]) -> dict[str, tuple[str, float]]:
    """What one clean pass over the events gives: (level, 12-month income) per household."""
    policies, states, result = PolicyBook.load(REPO_ROOT / "policy"), {}, {}
    for raw in events:
        event = validate_event(raw, b"k")
        state, score = score_event(states.get(event.household_id, HouseholdState()), event, policies, datetime.now(UTC))
        states[event.household_id] = state
        if score:
            result[event.household_id] = (score.level, score.figures.income_12m)
    return result


def wait_for_figures(stack, expected: dict[str, tuple[str, float]], seconds: float = 180) -> dict:
    headers, deadline, seen = login(stack), time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        for hid in expected:
            response = httpx.get(f"{stack.api_url}/households/{hid}", headers=headers)
            if response.status_code == 200:
                body = response.json()
                seen[hid] = (body["level"], body["figures"]["income_12m"])
        if seen == expected:
            return seen
        time.sleep(1)
    return seen


def test_a_scoring_worker_killed_mid_stream_ends_where_an_uninterrupted_run_ends(stack):
    events = county("HKS", 60)
    expected = uninterrupted_figures(events)
    for start in range(0, len(events), 200):
        assert post_batch(stack, events[start : start + 200]).json()["rejected"] == 0
        if start == 200:
            stack.processes["scoring"].kill()
    stack.start("scoring")
    assert wait_for_figures(stack, expected) == expected

    headers = login(stack)
    for hid, (level, _) in expected.items():
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": hid}, headers=headers).json()
        assert page["total"] == (0 if level == "green" else 1)
        for alert in page["items"]:
            assert len(alert["score_ids"]) == len(set(alert["score_ids"])), "a score was applied twice"


def test_an_alerts_service_killed_mid_stream_creates_no_duplicate_alert(stack):
    events = county("HKA", 30)
    expected = uninterrupted_figures(events)
    stack.processes["alerts"].kill()
    assert post_batch(stack, events[:180]).json()["accepted"] == 180
    stack.start("alerts")
    time.sleep(1)
    stack.processes["alerts"].kill()
    assert post_batch(stack, events[180:]).json()["accepted"] == len(events) - 180
    stack.start("alerts")
    assert wait_for_figures(stack, expected) == expected
    headers = login(stack)
    for hid, (level, _) in expected.items():
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": hid}, headers=headers).json()
        assert page["total"] == (0 if level == "green" else 1)


def test_duplicate_detection_survives_an_ingest_restart(stack):
    event = registration("HKI1", 90000)
    assert post_event(stack, event).status_code == 202
    stack.processes["ingest"].kill()
    stack.start("ingest")
    assert post_event(stack, event).json()["status"] == "duplicate"
