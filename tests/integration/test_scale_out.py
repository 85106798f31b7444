"""Scoring scales out by partition: two workers in one group never split a household's state between them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bench import clients
from services.common import topics
from services.scoring.state import HouseholdState
from tests.clients import read_topic
from tests.infra import make_stack
from tests.recovery import county, uninterrupted_states
from tests.scaling import Assignment, changelog, members, publish, states_reaching

pytestmark = pytest.mark.integration
PARTITIONS = 6
WORKERS = ("scoring-a", "scoring-b")


@dataclass
class ScaleOut:
    """What one run saw: the group, each household's changelog state and partitions, and the clean pass."""

    shared: Assignment  # both workers in the group
    states_shared: dict[str, HouseholdState]  # after the first half of the events, both workers running
    expected_shared: dict[str, HouseholdState]
    taken_over: Assignment  # after scoring-b stopped
    states_taken_over: dict[str, HouseholdState]  # after the second half, scoring-a alone
    expected_all: dict[str, HouseholdState]
    changelog_partitions: dict[str, set[int]]
    canonical_partitions: dict[str, set[int]]


def halves(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Registrations and January-June incomes first; July-December second (each household's order kept)."""
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for event in events:
        (second if event["data"].get("period", "") > "2024-06" else first).append(event)
    return first, second


@pytest.fixture(scope="module")
def scale_out(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    """Two scoring workers of a private app share the first half of 60 households' events; one stops; the rest."""
    folder, app_id = tmp_path_factory.mktemp("scale-out"), f"scoring-scale-out-{uuid.uuid4().hex[:8]}"
    stack = make_stack(kafka_bootstrap, redis_url, folder)
    stack.env.update(SCORING_APP_ID=app_id, KAFKA_PARTITIONS=str(PARTITIONS))
    topics.ensure_topics(kafka_bootstrap, PARTITIONS)
    admin = clients.admin(stack)
    events = county("HSO", 60)
    first, second = halves(events)
    try:
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))  # only this run's events
        for name in WORKERS:
            stack.start(name, "scoring", SCORING_DATA_DIR=str(folder / name))
        shared = members(admin, app_id, 2)
        publish(kafka_bootstrap, first)
        expected_shared = uninterrupted_states(first)
        states_shared = states_reaching(kafka_bootstrap, app_id, expected_shared)
        stack.processes[WORKERS[1]].stop()  # SIGTERM: it leaves the group
        # The events come once the survivor holds every partition (events arriving during rebalances:
        # test_rebalance_in_flight.py).
        taken_over = members(admin, app_id, 1)
        publish(kafka_bootstrap, second)
        expected_all = uninterrupted_states(events)
        states_taken_over = states_reaching(kafka_bootstrap, app_id, expected_all)
        changelog_partitions = changelog(kafka_bootstrap, app_id, set(expected_all))[1]
        canonical_partitions: dict[str, set[int]] = defaultdict(set)
        for message in read_topic(kafka_bootstrap, topics.CANONICAL):
            if message.key.decode() in expected_all:
                canonical_partitions[message.key.decode()].add(message.partition)
        yield ScaleOut(
            shared,
            states_shared,
            expected_shared,
            taken_over,
            states_taken_over,
            expected_all,
            changelog_partitions,
            dict(canonical_partitions),
        )
    finally:
        stack.stop_all()
        admin.close()


def test_two_workers_in_one_group_hold_disjoint_partitions_that_cover_the_topic(scale_out):
    held = list(scale_out.shared.values())
    assert len(held) == 2
    assert set(held[0]).isdisjoint(held[1])
    assert sorted(held[0] + held[1]) == list(range(PARTITIONS))


def test_with_two_workers_every_household_s_state_is_what_one_clean_pass_gives(scale_out):
    assert len(scale_out.expected_shared) == 60
    assert scale_out.states_shared == scale_out.expected_shared


def test_a_household_s_state_is_written_to_one_changelog_partition_the_one_its_events_are_in(scale_out):
    assert set(scale_out.canonical_partitions) == set(scale_out.expected_all)
    assert all(len(partitions) == 1 for partitions in scale_out.canonical_partitions.values())
    assert scale_out.changelog_partitions == scale_out.canonical_partitions


def test_when_one_worker_stops_the_other_takes_over_its_partitions_and_each_household_s_state_continues(scale_out):
    ((survivor, held),) = scale_out.taken_over.items()
    assert survivor in scale_out.shared, "the remaining worker kept its membership"
    (stopped,) = set(scale_out.shared) - {survivor}
    moved = {h for h, (p,) in scale_out.canonical_partitions.items() if p in scale_out.shared[stopped]}
    assert held == list(range(PARTITIONS))
    assert moved, "some households were the stopped worker's"
    assert scale_out.states_taken_over == scale_out.expected_all
