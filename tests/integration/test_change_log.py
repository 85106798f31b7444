"""The change log: writers hear every outcome however many wait at once; a replay reads every message."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from services.alerts.changes import ChangeLog
from services.alerts.deadletters import DeadLetters
from services.alerts.positions import Positions
from services.alerts.projector import Projector
from services.alerts.raising import apply_score
from services.alerts.store import AlertStore
from services.common.kafka import TopicToEnd
from services.common.kafka_auth import client_options
from services.common.policy import PolicyBook
from services.common.redis_connections import redis_client
from services.common.settings import REPO_ROOT
from tests.workflow_stack import score

pytestmark = pytest.mark.integration
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def new_topic(bootstrap: str, partitions: int = 6) -> str:
    topic = f"changes.test.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()
    return topic


def test_two_hundred_writers_waiting_at_once_on_eight_redis_connections_all_hear_their_outcome(
    kafka_bootstrap, redis_url
):
    topic, policies = new_topic(kafka_bootstrap), PolicyBook.load(REPO_ROOT / "policy")
    alerts = [apply_score(None, score(f"CLW{n}"), policies, NOW) for n in range(200)]

    async def write_everything_twice() -> tuple[list[bool], list[bool]]:
        redis = redis_client(redis_url.rsplit("/", 1)[0] + "/7", decode_responses=True, max_connections=8)
        await redis.flushdb()
        changes = ChangeLog(kafka_bootstrap, topic, redis, wait_seconds=20)
        await changes.start()
        letters = DeadLetters(changes.producer, "projector", topic=f"{topic}.dead")
        positions = Positions(redis, f"{topic}-p")
        projector = Projector(kafka_bootstrap, topic, f"{topic}-p", AlertStore(redis), letters, positions)
        projecting = asyncio.create_task(projector.run())
        try:
            writes = [changes.commit(alert, "raised", "system", NOW) for alert in alerts]
            first = await asyncio.wait_for(asyncio.gather(*writes), 60)
            again = [changes.commit(alert, "raised", "system", NOW) for alert in alerts]
            return first, await asyncio.wait_for(asyncio.gather(*again), 60)
        finally:
            projecting.cancel()
            await asyncio.gather(projecting, return_exceptions=True)
            await changes.stop()
            await redis.flushdb()
            await redis.aclose()

    first, again = asyncio.run(write_everything_twice())
    assert first == [True] * len(alerts)
    assert again == [False] * len(alerts)  # the same versions a second time are stale, and say so


def test_every_read_of_the_log_returns_all_its_messages_whatever_the_timing_of_the_partition_resets(
    kafka_bootstrap,
):
    topic = new_topic(kafka_bootstrap)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, **client_options(), acks="all")
    sent = {f"change-{n}".encode() for n in range(60)}
    for value in sent:
        producer.send(topic, value, key=value)
    producer.flush()
    producer.close()

    reads = [list(TopicToEnd(kafka_bootstrap, topic)) for _ in range(15)]
    assert [len(read) for read in reads] == [len(sent)] * len(reads)
    assert all(set(read) == sent for read in reads)
