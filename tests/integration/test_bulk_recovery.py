"""A scoring worker that starts cold reads its table's changelog in bulk before faust's recovery, on a real broker:
it ends holding exactly what the changelog holds (overwritten states, deleted households), as faust's own
record-by-record recovery does, and faust then reads nothing more of those partitions."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import NewTopic

from bench import clients
from bench.state import household_state
from services.common import topics
from services.common.kafka import partitions_of
from services.common.kafka_auth import client_options
from services.scoring.state import encode_state
from services.scoring.store import digest
from tests import infra
from tests.clients import read_topic
from tests.infra import Stack, make_stack
from tests.standby import held, recovery_starts

pytestmark = pytest.mark.integration
PARTITIONS = 6
HOUSEHOLDS = 3000


def _write_changelog(stack: Stack, topic: str) -> None:
    """Every household's state, then a newer state for every tenth and a deletion for every hundredth."""
    admin = clients.admin(stack)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all", linger_ms=20)
    rng = random.Random(5)
    records: list[tuple[int, bytes | None]] = [(n, encode_state(household_state(n, 5, rng))) for n in range(HOUSEHOLDS)]
    records += [(n, encode_state(household_state(n + 1, 5, rng))) for n in range(0, HOUSEHOLDS, 10)]
    records += [(n, None) for n in range(0, HOUSEHOLDS, 100)]
    for n, value in records:
        household = f"BR{n:05d}"
        (partition,) = partitions_of([household.encode()], PARTITIONS)  # where its events are
        producer.send(topic, value, key=json.dumps(household).encode(), partition=partition)
    producer.flush()
    producer.close()


def _changelog_up_to(bootstrap: str, topic: str, offsets: dict[int, int]) -> tuple[dict[int, str], int]:
    """Each partition's digest of the latest states on the changelog up to `offsets` (what a worker says it holds:
    other tests' events may be scored meanwhile by these workers and written after), and the households alive."""
    latest: dict[int, dict[str, bytes]] = defaultdict(dict)
    for message in read_topic(bootstrap, topic, idle_ms=1000):
        if message.offset > offsets.get(message.partition, -1):
            continue
        if message.value is None:
            latest[message.partition].pop(json.loads(message.key), None)
        else:
            latest[message.partition][json.loads(message.key)] = message.value
    return {p: digest(states.items()) for p, states in latest.items()}, sum(map(len, latest.values()))


@pytest.fixture(scope="module")
def recovered(
    kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Workers of one app started cold on a written changelog, with bulk recovery and without."""
    folder, app_id = tmp_path_factory.mktemp("bulk"), f"scoring-bulk-{uuid.uuid4().hex[:8]}"
    stack = make_stack(kafka_bootstrap, redis_url, folder)
    stack.env.update(SCORING_APP_ID=app_id, KAFKA_PARTITIONS=str(PARTITIONS), SCORING_STANDBY_REPLICAS="0")
    topics.ensure_topics(kafka_bootstrap, PARTITIONS)
    changelog = f"{app_id}-households-changelog"
    _write_changelog(stack, changelog)
    admin = clients.admin(stack)
    try:
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))  # no earlier events
        written = {tp.partition: end - 1 for tp, end in clients.end_offsets(admin, changelog).items()}
        found: dict[str, Any] = {"written": written}
        for name, bulk in (("bulk", "true"), ("record-by-record", "false")):
            logged = stack.log_size(name)
            stack.start(name, "scoring", SCORING_DATA_DIR=str(folder / name), SCORING_BULK_RECOVERY=bulk)
            log = (infra.LOGS / f"{name}.log").read_bytes()[logged:].decode(errors="replace")
            holds = held(stack.url_of(name))
            expected = _changelog_up_to(kafka_bootstrap, changelog, {p: e["offset"] for p, e in holds.items()})
            found[name] = {"held": holds, "log": log, "starts": recovery_starts(log, changelog), "expected": expected}
            stack.processes.pop(name).stop()
        yield found
    finally:
        stack.stop_all()
        admin.close()


def test_a_cold_worker_loaded_in_bulk_holds_exactly_what_the_changelog_holds(recovered):
    holds = recovered["bulk"]["held"]
    digests, households = recovered["bulk"]["expected"]
    assert {partition: entry["digest"] for partition, entry in holds.items()} == digests and len(digests) == PARTITIONS
    assert sum(entry["households"] for entry in holds.values()) == households
    assert households >= HOUSEHOLDS - HOUSEHOLDS // 100  # every hundredth deleted (others' households scored since)
    assert all(holds[partition]["offset"] >= last for partition, last in recovered["written"].items())
    assert "preloaded" in recovered["bulk"]["log"]


def test_faust_s_recovery_then_starts_where_the_bulk_load_ended(recovered):
    (starts,) = recovered["bulk"]["starts"][-1:]
    assert all(starts[partition] >= last for partition, last in recovered["written"].items())  # not from -1


def test_without_bulk_recovery_faust_reads_the_same_table_record_by_record(recovered):
    holds = recovered["record-by-record"]["held"]
    digests, households = recovered["record-by-record"]["expected"]
    assert {partition: entry["digest"] for partition, entry in holds.items()} == digests
    assert sum(entry["households"] for entry in holds.values()) == households
    assert "preloaded" not in recovered["record-by-record"]["log"]
    assert all(start == -1 for start in recovered["record-by-record"]["starts"][0].values())
