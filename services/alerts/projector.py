"""The projector: applies the change log to Redis in log order, the one path by which alerts reach Redis."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from services.alerts.changes import TRANSIENT
from services.alerts.deadletters import DeadLetters
from services.alerts.positions import Positions, RolledBack
from services.alerts.store import AlertStore
from services.common.alerts import Change
from services.common.kafka import consume_batches
from services.common.kafka_auth import KafkaCredentials, client_options
from services.common.probes import GroupMember


class Projector:
    """At-least-once: offsets are committed after Redis has the changes; a replayed change is stale, a no-op."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        group_id: str,
        store: AlertStore,
        dead_letters: DeadLetters,
        positions: Positions,
        credentials: KafkaCredentials | None = None,
    ):
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options(credentials),
        )
        self._positions = positions
        self.member = GroupMember(self._resume)  # readiness: this consumer holds its group's assignment
        self._consumer.subscribe([topic], listener=self.member)
        self._store = store
        self._dead_letters = dead_letters

    async def project(self, messages: list[ConsumerRecord]) -> None:
        """Apply a batch of changes to Redis in log order, in one round trip; unreadable ones become dead letters."""
        changes = []
        for message in messages:
            try:
                changes.append(Change.model_validate_json(message.value))
            except (ValidationError, ValueError, TypeError) as exc:
                await self._dead_letters.put(message, "unreadable", f"not an alert change: {exc}")
        await self._store.apply_many(changes, live=True)
        await self._positions.save(messages)

    async def _resume(self, partitions: Sequence[TopicPartition]) -> None:
        await self._positions.resume(self._consumer, partitions)

    async def _go_back(self, consumer: AIOKafkaConsumer) -> None:
        await self._positions.resume(consumer, sorted(consumer.assignment()))

    async def run(self) -> None:
        """Project until cancelled."""
        await consume_batches(
            self._consumer, self.project, "projection", (*TRANSIENT, RolledBack), timeout_ms=200, go_back=self._go_back
        )
