"""Events in flight while a scoring worker joins and leaves the group are each applied once: a rebalance skips none."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import KafkaProducer, TopicPartition

from bench import clients
from services.common import topics
from services.common.kafka_auth import client_options
from services.scoring.state import HouseholdState
from tests.infra import make_stack, wait_until
from tests.recovery import county, uninterrupted_states
from tests.scaling import members, send, states_reaching

pytestmark = pytest.mark.integration
PARTITIONS = 6
ROUNDS = 3  # scoring-b joins and leaves this many times
SLICE = 120  # events published every PAUSE seconds: more than the workers keep up with, so a backlog is in flight
PAUSE = 0.1


@dataclass
class Churn:
    """What one run saw: each household's changelog state, the clean pass, the group's offsets at the end."""

    states: dict[str, HouseholdState]
    expected: dict[str, HouseholdState]
    committed: dict[TopicPartition, int]
    end: dict[TopicPartition, int]


def trickle(bootstrap: str, events: list[dict[str, Any]], stop: threading.Event) -> int:
    """Publish the events a slice at a time until `stop` is set or none are left; how many were published."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    published = 0
    try:
        while published < len(events) and not stop.wait(PAUSE):
            send(producer, events[published : published + SLICE])
            published = min(published + SLICE, len(events))
    finally:
        producer.close()
    return published


@pytest.fixture(scope="module")
def churn(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Churn]:
    """While events keep arriving for scoring-a, scoring-b joins the group and leaves it, three times."""
    folder, app_id = tmp_path_factory.mktemp("churn"), f"scoring-churn-{uuid.uuid4().hex[:8]}"
    stack = make_stack(kafka_bootstrap, redis_url, folder)
    stack.env.update(SCORING_APP_ID=app_id, KAFKA_PARTITIONS=str(PARTITIONS))
    topics.ensure_topics(kafka_bootstrap, PARTITIONS)
    admin = clients.admin(stack)
    events, stop = county("HRB", 2800), threading.Event()
    try:
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))  # only this run's events
        stack.start("scoring-a", "scoring", SCORING_DATA_DIR=str(folder / "scoring-a"))
        members(admin, app_id, 1)
        with ThreadPoolExecutor(1) as pool:
            feed = pool.submit(trickle, kafka_bootstrap, events, stop)
            try:
                for _ in range(ROUNDS):
                    stack.start("scoring-b", "scoring", SCORING_DATA_DIR=str(folder / "scoring-b"))
                    members(admin, app_id, 2)
                    time.sleep(2)  # both workers with events in flight
                    stack.processes["scoring-b"].stop()  # SIGTERM: it leaves the group
                    members(admin, app_id, 1)
            finally:
                stop.set()
            published = events[: feed.result()]
        expected = uninterrupted_states(published)
        states = states_reaching(kafka_bootstrap, app_id, expected)
        end = clients.end_offsets(admin, topics.CANONICAL)
        committed: dict[TopicPartition, int] = {}

        def caught_up() -> bool:
            nonlocal committed
            committed = clients.committed(admin, app_id, list(end))
            return committed == end

        with contextlib.suppress(TimeoutError):  # the test compares and shows the difference
            wait_until(caught_up, 60, "the group's commits reaching the end of the topic")
        yield Churn(states, expected, committed, end)
    finally:
        stack.stop_all()
        admin.close()


def test_every_household_s_state_is_what_one_clean_pass_over_its_events_gives(churn):
    differing = sorted(h for h in churn.expected if churn.states.get(h) != churn.expected[h])
    assert len(churn.expected) > 100
    assert differing == [], f"{len(differing)} of {len(churn.expected)} households missed events"


def test_the_group_s_committed_offsets_reach_the_end_of_the_topic(churn):
    assert churn.committed == churn.end
