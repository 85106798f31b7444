"""The projector: applies the change log to Redis in log order, the one path by which alerts reach Redis."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from services.alerts.changes import Change
from services.alerts.offsets import consume_at_least_once
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
        await consume_at_least_once(self._consumer, self._project, "projection", timeout_ms=200)

    async def _project(self, messages: Sequence[Any]) -> None:
        for message in messages:
            await self._store.apply(Change.model_validate_json(message.value), live=True)
