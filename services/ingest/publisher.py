"""Writes accepted events to the canonical topic and refused ones to the dead-letter topic."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Sequence
from typing import Any

import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.common import topics
from services.common.identity import scrub_resident_ids
from services.common.kafka import Headers, send_batches
from services.common.kafka_auth import KafkaCredentials, client_options
from services.ingest.canonical import CanonicalEvent
from services.ingest.validation import FieldError


class NotPublished(KafkaError):  # type: ignore[misc]
    """The broker did not acknowledge every event in time (too few brokers, or none, reachable): none is accepted."""


class EventPublisher:
    """Idempotent Kafka producer (acks=all): an event is accepted only once the broker has it."""

    def __init__(self, bootstrap_servers: str, wait_seconds: float = 15.0, credentials: KafkaCredentials | None = None):
        self._bootstrap_servers, self._credentials = bootstrap_servers, credentials
        self._wait_seconds = wait_seconds
        self._producer: AIOKafkaProducer

    async def start(self) -> None:
        """Connect to the broker (aiokafka objects must be made inside the event loop)."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
            client_id="shouwang-ingest",
            **client_options(self._credentials),
        )
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()

    async def publish(self, events: Sequence[CanonicalEvent]) -> None:
        """Write events to the canonical topic keyed by household; returns when all are acknowledged."""
        records = [((event.household_id or "").encode(), event.body, _ce_headers(event)) for event in events]
        await self._send_all(topics.CANONICAL, records)

    async def keep_unmatched(self, events: Sequence[CanonicalEvent]) -> None:
        """Record person-level events that match no household yet, keyed by the person's pseudonym."""
        await self._send_all(topics.PERSONS_UNMATCHED, [((e.person or "").encode(), e.body, []) for e in events])

    async def _send_all(self, topic: str, records: Sequence[tuple[bytes, bytes, Headers]]) -> None:
        """Send whole batches per partition (the partition any Kafka client picks for the key), in order; raise
        NotPublished unless every one is acknowledged within the wait (one left over may still land later: a
        resend is a duplicate, which scoring ignores by event id)."""
        deadline = asyncio.get_running_loop().time() + self._wait_seconds
        try:
            async with asyncio.timeout_at(deadline):
                sent = await send_batches(self._producer, topic, [(k, v, h, None) for k, v, h in records])
        except TimeoutError as exc:
            raise NotPublished(f"no leader for {topic} within {self._wait_seconds}s") from exc
        for future in sent:
            future.add_done_callback(_ignore_outcome)  # the request fails or succeeds on its own; nothing waits
        if not sent:
            return
        _, pending = await asyncio.wait(sent, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        if pending:
            raise NotPublished(f"{len(pending)} of {len(sent)} batches unacknowledged after {self._wait_seconds}s")
        for future in sent:
            future.result()  # a batch the broker refused (e.g. NOT_ENOUGH_REPLICAS) raises its error

    async def dead_letter(self, raw: Any, errors: Sequence[FieldError], origin: str) -> None:
        """Record a refused message with its reasons; resident IDs in it are masked first."""
        body = json.dumps(
            {"origin": origin, "errors": [e.as_dict() for e in errors], "message": _masked(raw)},
            ensure_ascii=False,
        )
        await self._producer.send_and_wait(topics.DEADLETTER, body.encode())

    async def ready(self) -> bool:
        """True when the broker answers a metadata request within two seconds."""
        try:
            await asyncio.wait_for(self._producer.partitions_for(topics.CANONICAL), 2)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False
        return True


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: a late failure is not logged as never retrieved


@functools.lru_cache(maxsize=4096)
def _source_and_type(source: str, event_type: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    return ("ce_source", source.encode()), ("ce_type", event_type.encode())


def _ce_headers(event: CanonicalEvent) -> Headers:
    return [("ce_id", event.id.encode()), *_source_and_type(event.source, event.type)]


def _masked(raw: Any) -> str:
    if isinstance(raw, msgspec.Raw):
        raw = bytes(raw).decode("utf-8", "replace")
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return scrub_resident_ids(text)
