"""Cold recovery in bulk: changelog partitions a worker holds nothing of are read whole, in large fetches, before
faust's recovery starts; faust then resumes each one from where the load ended (`WarmMemoryStore.persisted_offset`).

faust's own recovery hands every changelog record through a queue, a task and a timer (~90 µs a record here: 85-93 s
for a million households); a plain consumer reading the same partitions to their end does it in a fraction of that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)
Apply = Callable[[Sequence[ConsumerRecord]], None]


@dataclass
class ChangelogReader:
    """Reads changelog partitions from their start to their current end with a consumer of no group."""

    bootstrap_servers: str
    options: dict[str, Any] = field(default_factory=dict)  # credentials: kafka_auth.client_options
    max_records: int = 20_000  # records a fetch hands over at once
    fetch_max_bytes: int = 16 * 1024 * 1024
    partition_fetch_bytes: int = 4 * 1024 * 1024

    _consumer: AIOKafkaConsumer | None = field(default=None, init=False, repr=False)

    async def read(self, partitions: Collection[tuple[str, int]], apply: Apply) -> dict[tuple[str, int], int]:
        """Hand every record of `partitions` to `apply`, a fetch at a time; the last offset applied of each."""
        wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
        consumer = await self._started()  # kept between rebalances: a start costs half a second
        started, count, last = time.monotonic(), 0, dict[tuple[str, int], int]()
        try:
            starts, ends = await consumer.beginning_offsets(wanted), await consumer.end_offsets(wanted)
            remaining = {tp for tp in wanted if ends[tp] > starts[tp]}  # an empty partition costs no fetch
            if remaining:
                consumer.assign(list(remaining))
                await consumer.seek_to_beginning(*remaining)
            while remaining:
                fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=self.max_records)
                for tp, records in fetched.items():
                    apply(records)
                    count += len(records)
                    last[(tp.topic, tp.partition)] = records[-1].offset
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        except KafkaError:
            self._consumer = None
            await consumer.stop()
            raise
        if consumer.assignment():
            consumer.assign([])
        seconds = time.monotonic() - started
        log.info("preloaded %d changelog records of %d partitions in %.1fs", count, len(wanted), seconds)
        return last

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                fetch_max_bytes=self.fetch_max_bytes,
                max_partition_fetch_bytes=self.partition_fetch_bytes,
                **self.options,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer
