"""Follows `models.activations` so every scoring worker swaps to a newly activated model without a restart."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common import topics
from services.scoring.model import Activation, ModelRegistry, RiskModel

log = logging.getLogger(__name__)


class ActiveModel:
    """The model in use (None: rules only); `ready` is set once the activation log has been read to its end."""

    def __init__(self, registry: ModelRegistry):
        self.registry = registry
        self.current: RiskModel | None = None
        self.ready = asyncio.Event()

    async def apply(self, activation: Activation) -> None:
        """Load and verify the activated version, then swap it in; a bad artefact keeps the previous model."""
        try:
            self.current = await asyncio.to_thread(self.registry.load, activation)
        except Exception:
            log.exception("model %s not activated; keeping %s", activation.version, self.version)
            return
        log.info("model %s active (activated by %s)", activation.version or "none, rules only", activation.activated_by)

    @property
    def version(self) -> str | None:
        """The version in use, if any."""
        return self.current.manifest.version if self.current else None

    async def follow(self, bootstrap_servers: str) -> None:
        """Read every activation from the beginning (no consumer group), forever."""
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
        partition = TopicPartition(topics.MODEL_ACTIVATIONS, 0)
        await consumer.start()
        try:
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            if end == 0:
                self.ready.set()
            while True:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for message in batch.get(partition, []):
                    await self.apply(Activation.model_validate_json(message.value))
                    if message.offset >= end - 1:
                        self.ready.set()
        finally:
            await consumer.stop()
