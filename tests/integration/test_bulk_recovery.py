"""A scoring worker that starts cold reads its table's changelog in bulk before faust's recovery, on a real broker:
it ends holding exactly what the changelog holds (overwritten states, deleted households), as faust's own
record-by-record recovery does, and faust then reads nothing more of those partitions."""

from __future__ import annotations

import json
import random
import uuid
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
from tests import infra
from tests.infra import Stack, make_stack
from tests.standby import changelog_digests, held, recovery_starts

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
    found: dict[str, Any] = {"expected": changelog_digests(kafka_bootstrap, app_id)}
    try:
        for name, bulk in (("bulk", "true"), ("record-by-record", "false")):
            logged = stack.log_size(name)
            stack.start(name, "scoring", SCORING_DATA_DIR=str(folder / name), SCORING_BULK_RECOVERY=bulk)
            log = (infra.LOGS / f"{name}.log").read_bytes()[logged:].decode(errors="replace")
            found[name] = {"held": held(stack.url_of(name)), "log": log, "starts": recovery_starts(log, changelog)}
            stack.processes.pop(name).stop()
        yield found
    finally:
        stack.stop_all()


def test_a_cold_worker_loaded_in_bulk_holds_exactly_what_the_changelog_holds(recovered):
    digests = {partition: entry["digest"] for partition, entry in recovered["bulk"]["held"].items()}
    assert digests == recovered["expected"] and len(digests) == PARTITIONS
    households = sum(entry["households"] for entry in recovered["bulk"]["held"].values())
    assert households == HOUSEHOLDS - HOUSEHOLDS // 100  # every hundredth deleted
    assert "preloaded" in recovered["bulk"]["log"]


def test_faust_s_recovery_then_starts_where_the_bulk_load_ended(recovered):
    (starts,) = recovered["bulk"]["starts"][-1:]
    offsets = {partition: entry["offset"] for partition, entry in recovered["bulk"]["held"].items()}
    assert starts == offsets  # no partition read again from its start (-1)


def test_without_bulk_recovery_faust_reads_the_same_table_record_by_record(recovered):
    digests = {partition: entry["digest"] for partition, entry in recovered["record-by-record"]["held"].items()}
    assert digests == recovered["expected"]
    assert "preloaded" not in recovered["record-by-record"]["log"]
    assert all(start == -1 for start in recovered["record-by-record"]["starts"][0].values())
