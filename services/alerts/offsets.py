"""Kafka consumer positions: going back to the last committed offsets after a failed batch."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from services.alerts.changes import ChangeNotApplied

# A batch failing with one of these is retried from the last commit: Redis or the broker is briefly away.
TRANSIENT = (RedisError, KafkaError, ChangeNotApplied, OSError)


async def rewind(consumer: AIOKafkaConsumer) -> None:
    """Seek every assigned partition back to its committed offset (the beginning if none was committed)."""
    committed = await consumer.seek_to_committed()
    uncommitted = [partition for partition, offset in committed.items() if not offset]
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)
