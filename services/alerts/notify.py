"""Routing: each applied change in the outbox goes to the webhooks of every township or county that covers it.

The projection script writes every applied change to the outbox stream in the same atomic step as the alert, so only
changes that applied are delivered and none is lost between projecting and routing. The router reads the outbox as
the consumer group `webhooks` under a name of its own (host, process, random), enqueues one delivery job per covering
subscription, then acknowledges. Entries another router read but never acknowledged (it was killed, its pod
replaced) are claimed once idle for `ALERTS_OUTBOX_CLAIM_IDLE_SECONDS` and routed again (the job key dedupes);
routers gone for good are removed from the group. The outbox is trimmed only below what the group has routed, keeping
`ALERTS_OUTBOX_RETENTION_HOURS` of changes for the live stream's `Last-Event-ID` resume.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.alerts.store import OUTBOX
from services.alerts.subscriptions import Subscription, SubscriptionStore
from services.alerts.webhooks import WebhookJobs
from services.regions.directory import RegionDirectory

log = logging.getLogger(__name__)
GROUP = "webhooks"
QUIET_KINDS = frozenset({"evidence_added"})  # more evidence on the same level is shown live but not pushed
GONE_IDLE_MS = 3_600_000  # a router idle for an hour with nothing pending has gone


def _older(a: str, b: str) -> str:
    """The older of two stream ids."""
    return min(a, b, key=lambda entry_id: tuple(int(part) for part in entry_id.split("-")))


class Notifier:
    """Routes the outbox to webhook jobs (acknowledged after queueing, so a crash re-queues, idempotently)."""

    def __init__(
        self,
        redis: Redis,
        subs: SubscriptionStore,
        jobs: WebhookJobs,
        places: RegionDirectory,
        retention_hours: float,
        claim_idle_seconds: float = 15.0,
    ):
        self._redis, self._subs, self._jobs, self._places = redis, subs, jobs, places
        self._claim_idle_ms = int(claim_idle_seconds * 1000)  # a router acknowledges within a second or two
        self._upkeep_seconds = 2 * claim_idle_seconds
        self._retention_ms = int(retention_hours * 3_600_000)
        self.name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(OUTBOX, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def route(self, summary: dict[str, Any], subscriptions: list[Subscription]) -> int:
        """Queue one change for every subscription covering its region; returns how many were queued."""
        if summary["kind"] in QUIET_KINDS:
            return 0
        covering = [sub for sub in subscriptions if summary["region_code"].startswith(sub.region_prefix)]
        return sum([await self._jobs.enqueue(summary, sub) for sub in covering])

    async def _route_entries(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        """Route a batch (the subscriptions read once) and acknowledge it."""
        if entries:
            subscriptions = await self._subs.all()
            changes = [json.loads(fields["change"]) for _, fields in entries]
            names = await self._places.names_of(change["region_code"] for change in changes)  # one lookup a batch
            for change in changes:
                await self.route({**change, "region_name": names[change["region_code"]]}, subscriptions)
            await self._redis.xack(OUTBOX, GROUP, *(entry_id for entry_id, _ in entries))

    async def claim_orphans(self) -> int:
        """Route the entries other routers read but did not acknowledge for the claim idle time; returns how many."""
        claimed = 0
        cursor = "0-0"
        while True:
            found: Any = await self._redis.xautoclaim(OUTBOX, GROUP, self.name, self._claim_idle_ms, cursor, count=100)
            cursor, entries = found[0], [entry for entry in found[1] if entry[1]]
            await self._route_entries(entries)
            claimed += len(entries)
            if cursor == "0-0":
                return claimed

    async def upkeep(self) -> None:
        """Trim the outbox below what the group routed (keeping the retention) and forget routers gone for good."""
        groups: Any = await self._redis.xinfo_groups(OUTBOX)
        routed = next((str(g["last-delivered-id"]) for g in groups if g["name"] == GROUP), "0-0")
        pending: Any = await self._redis.xpending(OUTBOX, GROUP)
        if pending["pending"]:
            routed = _older(routed, str(pending["min"]))
        keep_from = f"{int(time.time() * 1000) - self._retention_ms}-0"
        await self._redis.xtrim(OUTBOX, minid=_older(routed, keep_from), approximate=False)
        for consumer in await self._redis.xinfo_consumers(OUTBOX, GROUP):
            if consumer["name"] != self.name and not consumer["pending"] and consumer["idle"] > GONE_IDLE_MS:
                await self._redis.xgroup_delconsumer(OUTBOX, GROUP, consumer["name"])

    async def run(self) -> None:
        """Route until cancelled: orphans first and every twice the claim idle time, new changes as they come."""
        upkept = 0.0
        while True:
            try:
                if time.monotonic() - upkept > self._upkeep_seconds:
                    await self._ensure_group()
                    await self.claim_orphans()
                    await self.upkeep()
                    upkept = time.monotonic()
                read: Any = await self._redis.xreadgroup(GROUP, self.name, {OUTBOX: ">"}, count=100, block=1000)
                await self._route_entries(read[0][1] if read else [])
            except Exception as exc:  # noqa: BLE001 - a Redis outage or flush must not stop routing for good
                log.warning("routing the outbox failed: %s", exc)
                upkept = 0.0  # re-create the group if Redis lost it, claim what was left pending
                await asyncio.sleep(1)
