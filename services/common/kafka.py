"""Kafka helpers every service shares: consuming in batches committed after their effect (rewinding to the last
commit when one fails), reading a topic to its end (`TopicToEnd`, the one way: command lines, start-up, tests), the
producers' partitioner, and sending whole batches per partition."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import ConsumerRecord as AsyncRecord
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.partitioner.default import murmur2
from prometheus_client import Gauge

from services.common.kafka_auth import KafkaCredentials, client_options

log = logging.getLogger(__name__)
Headers = list[tuple[str, bytes]]
# One record to send: key, value, headers, and its partition (None: the one Kafka's default partitioner picks).
Outgoing = tuple[bytes | None, bytes, Headers, int | None]
_M = np.uint32(0x5BD1E995)
_SEED = 0x9747B28C
_FEW_KEYS = 12


async def rewind(consumer: AIOKafkaConsumer) -> None:
    """Seek every assigned partition back to its committed offset (the beginning if none was committed)."""
    committed = await consumer.seek_to_committed()
    uncommitted = [partition for partition, offset in committed.items() if not offset]
    if uncommitted:
        await consumer.seek_to_beginning(*uncommitted)


CONSUMER_LAG = Gauge(
    "shouwang_consumer_lag",
    "Messages a consumer has yet to read, by consumer and topic (after its latest batch)",
    ["consumer", "topic"],
)


def record_lag(consumer: str, lags: dict[str, int]) -> None:
    """Set the lag gauge of a consumer: topic → messages behind the partitions' high watermarks."""
    for topic, behind in lags.items():
        CONSUMER_LAG.labels(consumer, topic).set(behind)


async def _lag(consumer: AIOKafkaConsumer) -> dict[str, int]:
    """Per topic, the assigned partitions' high watermarks less the consumer's positions (known ones only)."""
    lags: dict[str, int] = {}
    for partition in consumer.assignment():
        high = consumer.highwater(partition)
        if high is not None:
            lags[partition.topic] = lags.get(partition.topic, 0) + max(0, high - await consumer.position(partition))
    return lags


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handle: Callable[[list[AsyncRecord]], Awaitable[None]],
    what: str,
    retry_on: tuple[type[Exception], ...],
    timeout_ms: int = 500,
    go_back: Callable[[AIOKafkaConsumer], Awaitable[None]] = rewind,
) -> None:
    """Consume until cancelled: each batch (partition order kept) is handled whole, then its offsets committed; a
    batch failing with one of `retry_on` is read again from the last commit, or wherever `go_back` seeks
    (at-least-once: `handle` is idempotent)."""
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=500)
            messages = [message for partition in batches.values() for message in partition]
            try:
                await handle(messages)
            except retry_on as exc:
                log.warning("%s paused, retrying from the last commit: %s", what, exc, exc_info=True)
                await asyncio.sleep(1)
                await go_back(consumer)
                continue
            if messages:
                await consumer.commit()
                record_lag(what, await _lag(consumer))
    finally:
        await consumer.stop()


class TopicUnreadable(RuntimeError):
    """A topic could not be read to its end: it does not exist, or no message came for the timeout before the end."""


class TopicToEnd:
    """Every message value in a topic, from the beginning (or, with `newest`, about that many of the latest, shared
    among the partitions) to the end offsets read when iteration starts (no group, blocking: for command lines,
    start-up and tests); `records()` gives the whole records (key, headers, partition; tombstones too). `ends` holds
    those end offsets by partition. The one way the project reads a topic to its end: a topic that does not exist
    (unless `missing_ok`: then nothing), or no message for `timeout_s` while a partition is short of its end, raises
    `TopicUnreadable`. `credentials` None: the environment's."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        timeout_s: float = 10,
        newest: int | None = None,
        credentials: KafkaCredentials | None = None,
        missing_ok: bool = False,
    ):
        self._bootstrap, self._topic, self._timeout_ms = bootstrap, topic, int(timeout_s * 1000)
        self._newest, self._credentials, self._missing_ok = newest, credentials, missing_ok
        self.ends: dict[int, int] = {}

    def __iter__(self) -> Iterator[bytes]:
        return (record.value for record in self.records() if record.value is not None)

    def records(self) -> Iterator[ConsumerRecord]:
        """Every record up to the end offsets, partition by partition in offset order."""
        # Without a group the consumer's positions start from a reset; with the default "latest" a reset landing
        # after seek_to_beginning would skip the whole log.
        consumer = KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            **client_options(self._credentials),
        )
        try:
            partitions = [
                TopicPartition(self._topic, p) for p in sorted(consumer.partitions_for_topic(self._topic) or [])
            ]
            if not partitions:
                if self._missing_ok:
                    return
                raise TopicUnreadable(f"topic {self._topic} does not exist on {self._bootstrap}")
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            ends = consumer.end_offsets(partitions)
            self.ends = {tp.partition: end for tp, end in ends.items()}
            if self._newest is not None:
                share = max(1, self._newest // len(partitions))
                for tp, first in consumer.beginning_offsets(partitions).items():
                    consumer.seek(tp, max(first, ends[tp] - share))
            left = {tp: end for tp, end in ends.items() if consumer.position(tp) < end}
            while left:
                batch = consumer.poll(timeout_ms=self._timeout_ms)
                if not batch:
                    raise TopicUnreadable(
                        f"{self._topic}: no message for {self._timeout_ms} ms before the end offsets {self.ends}"
                    )
                for messages in batch.values():
                    yield from messages
                left = {tp: end for tp, end in left.items() if consumer.position(tp) < end}
        finally:
            consumer.close()


def partitions_of(keys: Sequence[bytes], count: int) -> list[int]:
    """The partition of each key among `count`, as Kafka's default partitioner (murmur2) picks it, for a batch.

    Vectorised over keys of equal length: a thousand keys cost what a few cost one by one in Python (below
    `_FEW_KEYS`, where NumPy's fixed cost of ~110 µs is more than Python's ~9 µs a key, one by one).
    """
    if len(keys) < _FEW_KEYS:
        return [(murmur2(key) & 0x7FFFFFFF) % count for key in keys]
    chosen = np.empty(len(keys), dtype=np.int64)
    by_length: dict[int, list[int]] = {}
    for row, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(row)
    for length, rows in by_length.items():
        data = np.frombuffer(b"".join(keys[row] for row in rows), dtype=np.uint8).reshape(len(rows), length)
        words = length // 4
        h = np.full(len(rows), (_SEED ^ length) & 0xFFFFFFFF, dtype=np.uint32)
        if words:
            chunks = np.ascontiguousarray(data[:, : words * 4]).view("<u4")
            for column in range(words):
                k = chunks[:, column] * _M
                k ^= k >> np.uint32(24)
                h = (h * _M) ^ (k * _M)
        tail = data[:, words * 4 :].astype(np.uint32)
        if length & 3:
            for position in range((length & 3) - 1, -1, -1):
                h ^= tail[:, position] << np.uint32(8 * position)
            h = h * _M
        h ^= h >> np.uint32(13)
        h = h * _M
        h ^= h >> np.uint32(15)
        chosen[rows] = (h & np.uint32(0x7FFFFFFF)) % count
    return list(chosen.tolist())


async def send_batches(
    producer: AIOKafkaProducer, topic: str, records: Sequence[Outgoing]
) -> list[asyncio.Future[Any]]:
    """Hand `records` to the producer as whole batches per partition, in order; each future resolves on the ack.

    A record without a partition goes where any Kafka client would send its key (murmur2; no key: the first
    partition). One batch per partition instead of a future per record: the producer's per-record path costs more
    than the rest of a scoring or ingest batch's sending.
    """
    if not records:
        return []
    partitions = sorted(await producer.partitions_for(topic))
    keyed = [row for row, record in enumerate(records) if record[3] is None and record[0] is not None]
    chosen = dict(zip(keyed, partitions_of([records[row][0] or b"" for row in keyed], len(partitions)), strict=True))
    by_partition: dict[int, list[Outgoing]] = defaultdict(list)
    for row, record in enumerate(records):
        partition = record[3]
        if partition is None:
            partition = partitions[chosen[row]] if row in chosen else partitions[0]
        by_partition[partition].append(record)
    sent = []
    for partition, items in by_partition.items():
        batch = producer.create_batch()
        for key, value, headers, _ in items:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:  # full
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        sent.append(await producer.send_batch(batch, topic, partition=partition))
    return sent
