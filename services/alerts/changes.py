"""The change log: every change of an alert is an event on Kafka (the system of record) before Redis has it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel
from redis.asyncio import Redis

from services.alerts.models import Alert


class Change(BaseModel):
    """One change: the alert's full new state, valid only on top of `from_version` (0 = a new alert)."""

    change_id: str
    alert_id: str
    household_id: str
    from_version: int
    kind: str  # raised, reopened, evidence_added, escalated, a status, measure_added, reminder:*, overdue:*
    by: str
    at: datetime
    alert: Alert

    def summary_json(self) -> str:
        """What the live stream and webhooks carry: the change and the alert's headline, no notes or figures."""
        alert = self.alert
        summary = {
            "change_id": self.change_id,
            "kind": self.kind,
            "by": self.by,
            "at": self.at.isoformat(),
            "alert_id": alert.id,
            "household_id": alert.household_id,
            "region_code": alert.region_code,
            "inbox": alert.inbox,
            "level": alert.level,
            "status": alert.status,
            "queue": alert.queue,
            "overdue": alert.overdue,
            "due_at": alert.due_at.isoformat(),
            "version": alert.version,
        }
        return json.dumps(summary, ensure_ascii=False)


def result_key(change_id: str) -> str:
    """Where the projector tells a writer whether its change applied."""
    return f"change:{change_id}:result"


class ChangeNotApplied(RuntimeError):
    """The change is in the log but the projection did not confirm it in time (the projector is down or behind)."""


class ChangeLog:
    """Writes changes to the log (acks=all) and waits until the projector says whether each one applied."""

    def __init__(self, bootstrap_servers: str, topic: str, redis: Redis, wait_seconds: float):
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._redis = redis
        self._wait = wait_seconds
        self._producer: AIOKafkaProducer

    async def start(self) -> None:
        """Connect to the broker (inside the event loop)."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers, acks="all", enable_idempotence=True, client_id="shouwang-alerts"
        )
        await self._producer.start()

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()

    async def commit(self, alert: Alert, kind: str, by: str, at: datetime) -> bool:
        """Log `alert` as the successor of version `alert.version - 1`; True if applied, False if that was stale."""
        change = Change(
            change_id=str(uuid.uuid4()),
            alert_id=alert.id,
            household_id=alert.household_id,
            from_version=alert.version - 1,
            kind=kind,
            by=by,
            at=at,
            alert=alert,
        )
        await self._producer.send_and_wait(
            self._topic, change.model_dump_json().encode(), key=alert.household_id.encode()
        )
        outcome = await self._redis.blpop([result_key(change.change_id)], timeout=self._wait)
        if outcome is None:
            raise ChangeNotApplied(f"change {change.change_id} logged but not projected within {self._wait}s")
        return bool(outcome[1] == "applied")


async def read_log(bootstrap_servers: str, topic: str) -> AsyncIterator[bytes]:
    """Every message in `topic` up to its end at the time of the call, partition by partition."""
    # Without a group the consumer is given every partition and starts resetting their positions at once; with
    # the default "latest" such an in-flight reset can land after seek_to_beginning and skip the whole log.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = sorted(consumer.assignment())
        if not partitions:
            raise RuntimeError(f"topic {topic} has no partitions: is it created?")
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                batch = await consumer.getmany(partition, timeout_ms=1000, max_records=1000)
                for message in batch.get(partition, []):
                    if message.value is not None:
                        yield message.value
    finally:
        await consumer.stop()
