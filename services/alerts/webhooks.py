"""Signed webhook deliveries: a durable queue in Redis, retries with exponential backoff, and a delivery log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from redis.asyncio import Redis
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from services.alerts.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger(__name__)
DUE = "webhooks:due"  # delivery id -> when to try next (seconds since the epoch)
TRIES_PER_ROUND = 3  # quick retries inside one round; a failed round is rescheduled with a longer wait
LOG_LENGTH = 10000
KEEP_DELIVERED_SECONDS = 7 * 24 * 3600
# Takes up to ARGV[3] due deliveries and leases them until ARGV[2]: a worker that dies gives them back.
_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
return ids
"""


def sign(secret: str, body: bytes) -> str:
    """The X-Shouwang-Signature header value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _job_key(delivery_id: str) -> str:
    return f"webhook:job:{delivery_id}"


def log_key(sub_id: str) -> str:
    """The Redis stream holding a subscription's delivery attempts."""
    return f"subscription:{sub_id}:deliveries"


class WebhookQueue:
    """Deliveries waiting to be made, one per (change, subscription)."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)

    async def enqueue(self, summary: dict[str, Any], sub: Subscription) -> bool:
        """Queue the change for the subscription once; False if it was queued before."""
        delivery_id = f"{summary['change_id']}:{sub.id}"
        body = json.dumps(
            {"delivery_id": delivery_id, "subscription_id": sub.id, "change": summary}, ensure_ascii=False
        )
        created = await self._redis.hsetnx(_job_key(delivery_id), "body", body)
        if created:
            await self._redis.hset(_job_key(delivery_id), mapping={"subscription_id": sub.id, "rounds": 0})
            await self._redis.zadd(DUE, {delivery_id: time.time()})
        return bool(created)

    async def claim(self, lease: float, limit: int = 50) -> list[str]:
        """Due delivery ids, leased to the caller for `lease` seconds."""
        now = time.time()
        return [str(i) for i in await self._claim(keys=[DUE], args=[now, now + lease, limit])]

    async def job(self, delivery_id: str) -> dict[str, str]:
        """The stored delivery: body, subscription_id, rounds."""
        return {str(k): str(v) for k, v in (await self._redis.hgetall(_job_key(delivery_id))).items()}  # type: ignore[misc]

    async def finish(self, delivery_id: str, retry_in: float | None, rounds: int) -> None:
        """Delivered or given up (retry_in None), or try again in `retry_in` seconds."""
        if retry_in is None:
            await self._redis.zrem(DUE, delivery_id)
            await self._redis.expire(_job_key(delivery_id), KEEP_DELIVERED_SECONDS)
        else:
            await self._redis.hset(_job_key(delivery_id), "rounds", rounds)
            await self._redis.zadd(DUE, {delivery_id: time.time() + retry_in})

    async def record(self, sub_id: str, entry: dict[str, str | int]) -> None:
        """Append one attempt to the subscription's delivery log."""
        await self._redis.xadd(log_key(sub_id), entry, maxlen=LOG_LENGTH, approximate=True)  # type: ignore[arg-type]


class _Refused(Exception):
    """The receiver answered with a non-2xx status."""


class Deliverer:
    """Posts due deliveries; a failed round waits backoff × 2^round (capped) before the next one."""

    def __init__(
        self,
        queue: WebhookQueue,
        subs: SubscriptionStore,
        backoff: float,
        backoff_max: float,
        rounds: int,
        timeout: float,
    ):
        self._queue, self._subs = queue, subs
        self._backoff, self._backoff_max, self._rounds, self._timeout = backoff, backoff_max, rounds, timeout

    async def _post(self, client: httpx.AsyncClient, url: str, body: bytes, secret: str, delivery_id: str) -> int:
        headers = {
            "content-type": "application/json",
            "x-shouwang-signature": sign(secret, body),
            "x-shouwang-delivery": delivery_id,
        }
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(TRIES_PER_ROUND),
            wait=wait_exponential(multiplier=self._backoff, max=self._backoff_max),
            retry=retry_if_exception_type((httpx.HTTPError, _Refused)),
            reraise=True,
        ):
            with attempt:
                response = await client.post(url, content=body, headers=headers)
                if not response.is_success:
                    raise _Refused(f"HTTP {response.status_code}")
        return response.status_code

    async def deliver(self, client: httpx.AsyncClient, delivery_id: str) -> None:
        """One round of tries for one delivery, logged; rescheduled or finished."""
        job = await self._queue.job(delivery_id)
        found = await self._subs.get(job.get("subscription_id", ""))
        if found is None or "body" not in job:
            await self._queue.finish(delivery_id, None, 0)  # subscription deleted meanwhile
            return
        sub, secret = found
        rounds = int(job["rounds"]) + 1
        entry: dict[str, str | int] = {"delivery_id": delivery_id, "round": rounds, "at": f"{time.time():.3f}"}
        try:
            status = await self._post(client, sub.url, job["body"].encode(), secret, delivery_id)
        except (httpx.HTTPError, _Refused) as exc:
            gave_up = rounds >= self._rounds
            await self._queue.record(
                sub.id,
                {**entry, "outcome": "gave_up" if gave_up else "failed", "error": str(exc) or type(exc).__name__},
            )
            retry_in = None if gave_up else min(self._backoff * 2**rounds, self._backoff_max)
            await self._queue.finish(delivery_id, retry_in, rounds)
            return
        await self._queue.record(sub.id, {**entry, "outcome": "delivered", "status_code": status})
        await self._queue.finish(delivery_id, None, rounds)

    async def run(self) -> None:
        """Deliver until cancelled."""
        lease = TRIES_PER_ROUND * (self._timeout + min(self._backoff * 2**TRIES_PER_ROUND, self._backoff_max))
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            while True:
                try:
                    due = await self._queue.claim(lease)
                    await asyncio.gather(*(self.deliver(client, delivery_id) for delivery_id in due))
                except Exception:  # noqa: BLE001 - a Redis outage must not stop deliveries for good
                    log.exception("webhook delivery pass failed")
                    due = []
                if not due:
                    await asyncio.sleep(min(self._backoff, 1.0))
