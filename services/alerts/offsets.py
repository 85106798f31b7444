"""Kafka consumer positions: going back to the last committed offsets after a failed batch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from services.alerts.changes import ChangeNotApplied

log = logging.getLogger(__name__)

# A batch failing with one of these is retried from the last commit: Redis or the broker is briefly away.
TRANSIENT = (RedisError, KafkaError, ChangeNotApplied, OSError)


async def rewind(consumer: AIOKafkaConsumer) -> None:
    """Seek every assigned partition back to its committed offset (the beginning if none was committed)."""
    committed = await consumer.seek_to_committed()
    uncommitted = [partition for partition, offset in committed.items() if not offset]
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)


async def consume_at_least_once(
    consumer: AIOKafkaConsumer, handle: Callable[[Sequence[Any]], Awaitable[None]], what: str, timeout_ms: int
) -> None:
    """Hand each fetched batch to `handle`; commit after it, or go back to the last commit on a transient error."""
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=500)
            try:
                await handle([message for messages in batches.values() for message in messages])
            except TRANSIENT as exc:
                log.warning("%s paused, retrying from the last commit: %s", what, exc)
                await asyncio.sleep(1)
                await rewind(consumer)
                continue
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
