"""The projector: applies the change log to Redis in log order, the one path by which alerts reach Redis."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer

from services.alerts.changes import Change
from services.alerts.offsets import TRANSIENT, rewind
from services.alerts.store import AlertStore

log = logging.getLogger(__name__)


class Projector:
    """At-least-once: offsets are committed after Redis has the changes; a replayed change is stale, a no-op."""

    def __init__(self, bootstrap_servers: str, topic: str, group_id: str, store: AlertStore):
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._store = store

    async def run(self) -> None:
        """Project until cancelled."""
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
                try:
                    for messages in batches.values():
                        for message in messages:
                            await self._store.apply(Change.model_validate_json(message.value), live=True)
                except TRANSIENT as exc:
                    log.warning("projection paused, retrying from the last commit: %s", exc)
                    await asyncio.sleep(1)
                    await rewind(self._consumer)
                    continue
                if batches:
                    await self._consumer.commit()
        finally:
            await self._consumer.stop()
