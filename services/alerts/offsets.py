"""At-least-once consumption: a batch is committed once handled, and retried from the last commit if it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from services.alerts.changes import ChangeNotApplied
from services.common.kafka import rewind

__all__ = ["TRANSIENT", "consume_batches", "rewind"]

log = logging.getLogger(__name__)

# A batch failing with one of these is retried from the last commit: Redis or the broker is briefly away.
TRANSIENT = (RedisError, KafkaError, ChangeNotApplied, OSError)


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handle: Callable[[list[ConsumerRecord]], Awaitable[None]],
    what: str,
    timeout_ms: int = 500,
) -> None:
    """Consume until cancelled: each batch (partition order kept) is handled whole, then its offsets committed."""
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=500)
            messages = [message for partition in batches.values() for message in partition]
            try:
                await handle(messages)
            except TRANSIENT as exc:
                log.warning("%s paused, retrying from the last commit: %s", what, exc)
                await asyncio.sleep(1)
                await rewind(consumer)
                continue
            if messages:
                await consumer.commit()
    finally:
        await consumer.stop()
