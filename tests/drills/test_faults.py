"""Fault drills: one part killed or restarted mid-load; nothing accepted is lost or counted twice; it catches up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.scoring.model import RiskModel
from tests.clients import post_batch
from tests.infra import Server, Stack
from tests.recovery import alert_problems, county, missing_from_canonical, uninterrupted_figures, wait_for_figures

pytestmark = pytest.mark.drills

HOUSEHOLDS = 80  # 1,040 events per drill
BATCH_SIZE = 40
PACE = 0.1  # seconds between batches, so the load is still running when the fault comes
DOWN = 2.0  # seconds the faulty part stays down
CATCH_UP = 240.0  # seconds allowed from the restart until every household is right


class Load:
    """Posts the events in batches from a thread, as a department system would: retrying until each is taken."""

    def __init__(self, stack: Stack, events: list[dict[str, Any]], pace: float = PACE):
        self.stack, self.pace = stack, pace
        self.batches = [events[i : i + BATCH_SIZE] for i in range(0, len(events), BATCH_SIZE)]
        self.halfway = threading.Event()
        self.problems: list[str] = []
        self.attempts: list[tuple[float, float, int | None]] = []  # each POST: sent, answered, status (None: none)
        self._thread = threading.Thread(target=self._run, name="drill-load", daemon=True)

    def start(self) -> None:
        """Begin posting in the background."""
        self._thread.start()

    def finish(self, seconds: float) -> None:
        """Wait for every batch to be taken."""
        self._thread.join(seconds)
        if self._thread.is_alive():
            self.problems.append(f"the load did not finish within {seconds}s")

    def _run(self) -> None:
        for number, batch in enumerate(self.batches, start=1):
            self._post_until_taken(batch)
            if number == len(self.batches) // 2:
                self.halfway.set()
            time.sleep(self.pace)
        self.halfway.set()

    def _post_until_taken(self, batch: list[dict[str, Any]]) -> None:
        """Accepted or duplicate (taken before a crash) is done; refused is a problem; no answer is tried again."""
        deadline = time.monotonic() + CATCH_UP
        while time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                response = post_batch(self.stack, batch)
            except httpx.HTTPError:
                self.attempts.append((sent, time.monotonic(), None))
                time.sleep(0.5)
                continue
            self.attempts.append((sent, time.monotonic(), response.status_code))
            if response.status_code == 207:
                refused = [r for r in response.json()["results"] if r["status"] == "rejected"]
                self.problems.extend(f"event {r['id']} refused: {r.get('errors')}" for r in refused)
                return
            time.sleep(0.5)  # 5xx while Kafka or Redis is away
        self.problems.append(f"a batch was not taken within {CATCH_UP}s")


def drill(
    stack: Stack,
    record_property: Callable[[str, object], None],
    prefix: str,
    fault: Callable[[], None],
    restart: Callable[[], object],
    households: int = HOUSEHOLDS,
    pace: float = PACE,
    down: float = DOWN,
    model: RiskModel | None = None,
    people: bool = False,
) -> Load:
    """Load, fault halfway, restart after `down` seconds; then check nothing is lost or doubled (the expected figures
    are one clean pass with `model` active) and time the catch-up. Returns the load (its events, attempts, answers)."""
    stack.revive()  # a service an earlier drill left dead: one failure does not fail the drills after it
    events = county(prefix, households, people)
    expected = uninterrupted_figures(events, model)
    load = Load(stack, events, pace)
    load.start()
    assert load.halfway.wait(CATCH_UP), "the load did not reach halfway"
    fault()
    time.sleep(down)
    restarted = time.monotonic()
    restart()
    load.finish(CATCH_UP)
    assert load.problems == []

    seen = wait_for_figures(stack, expected, CATCH_UP)
    record_property("events", len(events))
    if seen == expected:
        record_property("recovery_s", round(time.monotonic() - restarted, 1))
    wrong = {hid: (seen.get(hid), figures) for hid, figures in expected.items() if seen.get(hid) != figures}
    assert wrong == {}, f"{len(wrong)} households (seen, expected) not caught up within {CATCH_UP}s"
    assert missing_from_canonical(stack, events) == set(), "accepted events lost"
    assert alert_problems(stack, expected) == []
    exited = sorted(set(stack.processes) - set(stack.running()))
    assert exited == [], "services exited during the drill"
    return load


def test_a_scoring_worker_killed_mid_load_loses_and_double_counts_nothing(stack, record_property):
    drill(stack, record_property, "HDS", lambda: stack.processes["scoring"].kill(), lambda: stack.start("scoring"))


def test_the_alerts_service_killed_mid_load_creates_no_duplicate_alert(stack, record_property):
    drill(stack, record_property, "HDA", lambda: stack.processes["alerts"].kill(), lambda: stack.start("alerts"))


def test_ingest_killed_mid_load_loses_no_accepted_event(stack, record_property):
    drill(stack, record_property, "HDI", lambda: stack.processes["ingest"].kill(), lambda: stack.start("ingest"))


def test_a_kafka_broker_restarted_mid_load_on_its_port_and_data_loses_nothing(
    stack, kafka_server: Server, record_property
):
    drill(stack, record_property, "HDK", kafka_server.stop, kafka_server.start)


def test_a_redis_restarted_mid_load_from_its_append_only_file_loses_nothing(
    stack, redis_server: Server, record_property
):
    drill(stack, record_property, "HDR", redis_server.stop, redis_server.start)
