"""Messages that can never apply (a corrupt score or change, a change that stays stale): kept aside, not retried.

Each goes to the topic `alerts.deadletter` as it was read (same key and value) with headers saying why: `reason`
(`unreadable` or `stale`), `detail`, and where it came from (`consumer`, `topic`, `partition`, `offset`); it is
counted in `shouwang_alerts_dead_letters_total{consumer, reason}`. The consumer then moves on instead of rewinding
to it for ever. An operator can read the topic, fix what is wrong and produce the message back to its topic.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import Counter

from services.common import topics

log = logging.getLogger(__name__)
DEAD_LETTERS = Counter(
    "shouwang_alerts_dead_letters_total",
    "Messages the alerts service set aside as never applicable",
    ["consumer", "reason"],
)


class DeadLetters:
    """Writes set-aside messages to `alerts.deadletter` (acks=all) before the consumer commits past them."""

    def __init__(self, producer: AIOKafkaProducer, consumer: str, topic: str = topics.ALERTS_DEADLETTER):
        self._producer = producer
        self._consumer = consumer
        self._topic = topic

    async def put(self, message: ConsumerRecord, reason: str, detail: str) -> None:
        """Set one message aside with the reason; returns once the broker has it."""
        headers = [
            ("reason", reason.encode()),
            ("detail", detail[:2000].encode()),
            ("consumer", self._consumer.encode()),
            ("topic", str(message.topic).encode()),
            ("partition", str(message.partition).encode()),
            ("offset", str(message.offset).encode()),
        ]
        await self._producer.send_and_wait(self._topic, message.value, key=message.key, headers=headers)
        DEAD_LETTERS.labels(self._consumer, reason).inc()
        log.warning(
            "dead letter: %s",
            reason,
            extra={"consumer": self._consumer, "partition": message.partition, "offset": message.offset},
        )
