"""What the tests of several scoring workers share: publishing canonical events, the group, the changelog's states."""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict
from typing import Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient

from bench import clients
from services.common import topics
from services.common.kafka_auth import client_options
from services.ingest.validation import validate_event
from services.scoring.state import HouseholdState, decode_state
from tests.clients import read_topic
from tests.infra import wait_until
from tests.recovery import settled

Assignment = dict[str, list[int]]  # member id: partitions of events.canonical


def send(producer: KafkaProducer, events: list[dict[str, Any]]) -> None:
    """Put validated events on events.canonical keyed by household, as ingest does; return once the broker has them."""
    for raw in events:
        event = validate_event(raw, b"k")
        producer.send(topics.CANONICAL, event.to_json(), key=event.household_id.encode())
    producer.flush()


def publish(bootstrap: str, events: list[dict[str, Any]]) -> None:
    """Put validated events on events.canonical keyed by household, as ingest does."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all")
    try:
        send(producer, events)
    finally:
        producer.close()


def members(admin: KafkaAdminClient, app_id: str, count: int) -> Assignment:
    """Wait until the group is stable with `count` members each holding partitions; their assignment."""
    seen: Assignment = {}

    def settled() -> bool:
        nonlocal seen
        state, seen = clients.group_assignment(admin, app_id, topics.CANONICAL)
        return state == "Stable" and len(seen) == count and all(seen.values())

    wait_until(settled, 180, f"{count} scoring worker(s) holding partitions of {topics.CANONICAL}")
    return seen


def changelog(
    bootstrap: str, app_id: str, households: set[str]
) -> tuple[dict[str, HouseholdState], dict[str, set[int]]]:
    """The households' latest (settled) state on the table's changelog, and the partitions their records are in."""
    states: dict[str, HouseholdState] = {}
    partitions: dict[str, set[int]] = defaultdict(set)
    for message in read_topic(bootstrap, f"{app_id}-households-changelog", idle_ms=1000):
        household = json.loads(message.key)
        if household in households and message.value is not None:
            states[household] = settled(decode_state(message.value))
            partitions[household].add(message.partition)
    return states, dict(partitions)


def states_reaching(bootstrap: str, app_id: str, expected: dict[str, HouseholdState]) -> dict[str, HouseholdState]:
    """Poll the changelog until every household shows its expected state (or three minutes pass); the last seen."""
    seen: dict[str, HouseholdState] = {}

    def reached() -> bool:
        nonlocal seen
        seen = changelog(bootstrap, app_id, set(expected))[0]
        return seen == expected

    with contextlib.suppress(TimeoutError):  # the test compares and shows the difference
        wait_until(reached, 180, "the expected household states on the changelog")
    return seen
