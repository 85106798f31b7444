"""Follows `models.activations` so every scoring worker swaps to a newly activated model without a restart."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from threadpoolctl import threadpool_limits

from services.common import topics
from services.common.kafka import TopicToEnd
from services.common.kafka_auth import KafkaCredentials, client_options
from services.common.model_activation import Activation
from services.scoring.model import ModelRegistry, NotRegistered, RiskModel, UnverifiedModel

log = logging.getLogger(__name__)


class ActiveModel:
    """The model in use (None: rules only) and a shadow candidate; loaded before the first event, swapped live."""

    def __init__(self, registry: ModelRegistry):
        self.registry = registry
        self.current: RiskModel | None = None
        self.shadow: RiskModel | None = None
        self._next_offset = 0

    @property
    def version(self) -> str | None:
        """The version in use, if any."""
        return self.current.manifest.version if self.current else None

    def _apply(self, activation: Activation) -> None:
        try:
            loaded = self.registry.load(activation)
        except (UnverifiedModel, NotRegistered, OSError, ValueError):  # a version this worker's MODEL_DIR lacks too
            log.exception(
                "model %s not loaded as %s (by %s); nothing changed",
                activation.version,
                activation.role,
                activation.activated_by,
            )
            return
        # One OpenMP thread: when households were assessed one at a time, spinning OpenMP threads on a busy machine
        # made one assessment take 57 ms instead of 7 (not re-measured since predictions run per batch).
        threadpool_limits(limits=1, user_api="openmp")
        if activation.role == "shadow":
            self.shadow = loaded
            log.info("shadow model %s (by %s)", activation.version or "none", activation.activated_by)
            return
        self.current = loaded
        log.info("model %s active (activated by %s)", activation.version or "none, rules only", activation.activated_by)

    def load_latest(self, bootstrap_servers: str, credentials: KafkaCredentials | None = None) -> None:
        """At start, before any event is scored: read the whole activation log and load the last activation."""
        activation_log = TopicToEnd(bootstrap_servers, topics.MODEL_ACTIVATIONS, credentials=credentials)
        latest: dict[str, Activation] = {}  # by role
        for raw in activation_log:
            activation = Activation.model_validate_json(raw)
            latest[activation.role] = activation
        for activation in latest.values():
            self._apply(activation)
        self._next_offset = activation_log.ends.get(0, 0)

    async def follow(self, bootstrap_servers: str, credentials: KafkaCredentials | None = None) -> None:
        """Apply activations published after start, forever (no consumer group: every worker reads them all)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, enable_auto_commit=False, **client_options(credentials)
        )
        partition = TopicPartition(topics.MODEL_ACTIVATIONS, 0)
        await consumer.start()
        try:
            consumer.assign([partition])
            consumer.seek(partition, self._next_offset)
            while True:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for message in batch.get(partition, []):
                    await asyncio.to_thread(self._apply, Activation.model_validate_json(message.value))
        finally:
            await consumer.stop()
