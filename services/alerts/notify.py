"""Routing: each applied change in the outbox goes to the webhooks of every township or county that covers it."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.alerts.store import OUTBOX
from services.alerts.subscriptions import Subscription, SubscriptionStore
from services.alerts.webhooks import WebhookQueue

log = logging.getLogger(__name__)
GROUP = "webhooks"
QUIET_KINDS = frozenset({"evidence_added"})  # more evidence on the same level is shown live but not pushed


class Notifier:
    """Reads the outbox as a consumer group (acknowledged after queueing, so a crash re-queues, idempotently)."""

    def __init__(self, redis: Redis, subs: SubscriptionStore, queue: WebhookQueue, consumer: str):
        self._redis, self._subs, self._queue, self._consumer = redis, subs, queue, consumer

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(OUTBOX, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def route(self, summary: dict[str, str], subscriptions: list[Subscription]) -> int:
        """Queue one change for every subscription covering its region; returns how many were queued."""
        if summary["kind"] in QUIET_KINDS:
            return 0
        covering = [sub for sub in subscriptions if summary["region_code"].startswith(sub.region_prefix)]
        return sum([await self._queue.enqueue(summary, sub) for sub in covering])

    async def run(self) -> None:
        """Route until cancelled: first anything read but not acknowledged before a crash, then new changes."""
        await self._ensure_group()
        cursor = "0"
        while True:
            try:
                read: Any = await self._redis.xreadgroup(GROUP, self._consumer, {OUTBOX: cursor}, count=100, block=1000)
                entries: list[tuple[str, dict[str, str]]] = read[0][1] if read else []
                if entries:  # the subscriptions are read once a batch, and the batch acknowledged once routed
                    subscriptions = await self._subs.all()
                    for _, fields in entries:
                        await self.route(json.loads(fields["change"]), subscriptions)
                    await self._redis.xack(OUTBOX, GROUP, *(entry_id for entry_id, _ in entries))
            except Exception as exc:  # noqa: BLE001 - a Redis outage or flush must not stop routing for good
                log.warning("routing the outbox failed: %s", exc)
                await asyncio.sleep(1)
                if "NOGROUP" in str(exc):
                    await self._ensure_group()
                continue
            if cursor == "0" and not entries:
                cursor = ">"
