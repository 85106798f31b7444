"""The alerts consumers' positions in Redis: a Redis that went back in time (a crash losing its last second) is noticed
before anything is decided on it, and the consumer goes back with it (the cluster drills kill Redis mid-push)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from services.alerts.positions import Positions, RolledBack
from services.common.kafka_auth import client_options
from services.common.redis_connections import redis_client

pytestmark = pytest.mark.integration


def consumed(topic: str, partition: int, offset: int) -> ConsumerRecord:
    """A message as aiokafka hands it to the consumer."""
    return ConsumerRecord(topic, partition, offset, 0, 0, b"key", b"{}", None, 3, 2, ())


def test_positions_refuse_a_redis_gone_back_in_time_and_the_consumer_resumes_where_it_went_back_to(
    kafka_bootstrap, redis_url
):
    topic, group = f"positions.{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, **client_options())
    admin.create_topics([NewTopic(topic, 2, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, **client_options(), acks="all")
    for n in range(40):
        producer.send(topic, b"{}", partition=n % 2)
    producer.flush()
    producer.close()
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)

    async def scenario() -> tuple[list[str], dict[TopicPartition, int]]:
        redis = redis_client(redis_url, decode_responses=True)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka_bootstrap, **client_options(), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        outcomes = []
        try:
            consumer.assign([first, second])
            positions = Positions(redis, group)
            await positions.resume(consumer, [first, second])  # nothing kept yet: from the beginning
            assert [await consumer.position(tp) for tp in (first, second)] == [0, 0]
            await positions.save([consumed(topic, 0, 9), consumed(topic, 1, 4)])
            await positions.save([consumed(topic, 0, 14)])
            # A crash lost Redis's last write: it holds what it held a moment before.
            await redis.hset(f"alerts:positions:{group}", f"{topic}:0", "10")
            for attempt in (positions.save([consumed(topic, 0, 15)]), _checked(redis, positions)):
                try:
                    await attempt
                    outcomes.append("taken")
                except RolledBack:
                    outcomes.append("refused")
            await positions.resume(consumer, [first, second])  # as after a refused batch
            await positions.save([consumed(topic, 0, 10)])  # applied again from there: taken
            return outcomes, {tp: await consumer.position(tp) for tp in (first, second)}
        finally:
            await consumer.stop()
            await redis.delete(f"alerts:positions:{group}")
            await redis.aclose()

    outcomes, resumed = asyncio.run(scenario())
    assert outcomes == ["refused", "refused"]
    assert resumed == {first: 10, second: 5}


async def _checked(redis, positions: Positions) -> None:
    """A decision's read: the check in one transaction with it (as the score consumer reads alerts)."""
    async with redis.pipeline(transaction=True) as pipe:
        await positions.check(pipe)
        await pipe.ping()
        checked, _ = await pipe.execute()
    positions.verify(checked)
