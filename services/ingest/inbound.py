"""The Kafka route: events produced to `events.inbound` are validated exactly like HTTP ones."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.common import topics
from services.common.kafka import consume_batches
from services.common.kafka_auth import KafkaCredentials, client_options
from services.common.probes import GroupMember
from services.ingest.bindings import from_kafka
from services.ingest.intake import Intake
from services.ingest.publisher import EventPublisher
from services.ingest.validation import FieldError, UnparseableBody

log = logging.getLogger(__name__)
GROUP_ID = topics.INGEST_GROUP


class InboundRoute:
    """Consumes `events.inbound` at least once; invalid messages go to the dead-letter topic."""

    def __init__(
        self,
        bootstrap_servers: str,
        intake: Intake,
        publisher: EventPublisher,
        max_depth: int,
        topic: str = topics.INBOUND,
        group_id: str = GROUP_ID,
        member: GroupMember | None = None,
        credentials: KafkaCredentials | None = None,
    ):
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options(credentials),
        )
        self.member = member or GroupMember()  # readiness: this consumer holds its group's assignment
        self._consumer.subscribe([topic], listener=self.member)
        self._intake = intake
        self._publisher = publisher
        self._max_depth = max_depth

    async def run(self) -> None:
        """Process inbound messages until cancelled; offsets are committed only after publishing, and a batch that
        fails for any reason is read again from the last commit."""
        await consume_batches(self._consumer, self._process_records, "inbound", (Exception,))

    async def _process_records(self, records: list[ConsumerRecord]) -> None:
        await self._process([(record.headers, record.value) for record in records])

    async def _process(self, messages: list[tuple[Any, bytes | None]]) -> None:
        raws: list[Any] = []
        for headers, value in messages:
            try:
                raws.append(from_kafka(headers, value, self._max_depth))
            except UnparseableBody as exc:
                await self._publisher.dead_letter(
                    (value or b"").decode("utf-8", "replace"), [FieldError("(message)", str(exc))], "kafka"
                )
        for outcome in await self._intake.offer(raws, "kafka"):
            if outcome.status == "rejected":
                await self._publisher.dead_letter(raws[outcome.index], outcome.errors, "kafka")
