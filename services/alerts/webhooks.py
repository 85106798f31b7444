"""Webhook deliveries as jobs on a Redis job queue (saq): one per (change, subscription), signed, retried, logged.

The alerts service's router (notify.py) enqueues a delivery under a deterministic key, `{change_id}:{subscription
id}`, so routing a change twice queues it once; the jobs process (`python -m services.jobs`) posts it. A failed
attempt (no answer, a non-2xx answer, an address refused by targets.py) is retried by the queue with exponential
backoff (`WEBHOOK_BACKOFF` doubling up to `WEBHOOK_BACKOFF_MAX`, with jitter) until `WEBHOOK_MAX_ATTEMPTS`; a worker
killed mid-delivery leaves the job active past its timeout, and the queue's sweep gives it to a worker again.
Deliveries are at least once: the receiver dedupes by `webhook-id`, the same for every attempt of a delivery.

Signed the Standard Webhooks way (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` (this
attempt, seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
subscription's secret as bytes; the older `X-Shouwang-Signature: sha256=<hex HMAC of the body>` is kept for
receivers written before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import Counter
from redis.asyncio import Redis
from saq.queue.redis import RedisQueue
from standardwebhooks import Webhook

from services.alerts.subscriptions import Subscription, SubscriptionStore
from services.alerts.targets import UnsafeTarget, resolve

log = logging.getLogger(__name__)
DELIVER = "deliver_webhook"  # the job function's name on the webhooks queue
LOG_LENGTH = 10000


def sign(secret: str, body: bytes) -> str:
    """The X-Shouwang-Signature header value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, delivery_id: str, body: str, at: datetime) -> dict[str, str]:
    """The headers of one attempt: Standard Webhooks' three, and the older body-only signature."""
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret.encode()).sign(delivery_id, at, body),
        "x-shouwang-signature": sign(secret, body.encode()),
        "x-shouwang-delivery": delivery_id,
    }


def log_key(sub_id: str) -> str:
    """The Redis stream holding a subscription's delivery attempts."""
    return f"subscription:{sub_id}:deliveries"


class WebhookJobs:
    """Enqueues deliveries with the retry policy of the settings; the job records dedupe for `keep_seconds`."""

    def __init__(self, queue: RedisQueue, attempts: int, backoff: float, backoff_max: float, timeout: float, keep: int):
        self._queue = queue
        self._options = {
            "retries": attempts,
            "retry_delay": backoff,
            "retry_backoff": backoff_max,
            "timeout": int(timeout) + 5,  # the request's own timeout, plus resolving the host
            "ttl": keep,
        }

    async def enqueue(self, change: dict[str, Any], sub: Subscription) -> bool:
        """Queue the change for the subscription once; False if it was queued (or delivered) before."""
        delivery_id = f"{change['change_id']}:{sub.id}"
        if await self._queue.job(delivery_id) is not None:
            return False
        job = await self._queue.enqueue(
            DELIVER, key=delivery_id, delivery_id=delivery_id, subscription_id=sub.id, change=change, **self._options
        )
        return job is not None


DELIVERIES = Counter(
    "shouwang_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered, failed, gave_up)",
    ["outcome"],
)


class DeliveryFailed(Exception):
    """One attempt failed (the queue retries it)."""


class Deliverer:
    """The delivery job: posts one change to one subscription's URL and logs the attempt."""

    def __init__(self, redis: Redis, subs: SubscriptionStore, client: httpx.AsyncClient, allowed: frozenset[str]):
        self._redis, self._subs, self._client, self._allowed = redis, subs, client, allowed

    async def deliver(
        self, ctx: dict[str, Any], *, delivery_id: str, subscription_id: str, change: dict[str, Any]
    ) -> int:
        """One attempt; returns the receiver's status code, raises DeliveryFailed for the queue to retry."""
        found = await self._subs.get(subscription_id)
        if found is None:
            return 0  # the subscription was deleted meanwhile
        sub, secret = found
        job = ctx["job"]
        body = json.dumps({"delivery_id": delivery_id, "subscription_id": sub.id, "change": change}, ensure_ascii=False)
        entry: dict[str, str | int] = {"delivery_id": delivery_id, "round": job.attempts, "at": f"{time.time():.3f}"}
        try:
            target = await resolve(sub.url, self._allowed)
            headers = {**signed_headers(secret, delivery_id, body, datetime.now(UTC)), "host": target.host_header}
            extensions = {"sni_hostname": target.server_name} if target.url.scheme == "https" else {}
            response = await self._client.post(
                target.url, content=body.encode(), headers=headers, extensions=extensions
            )
            if not response.is_success:
                raise DeliveryFailed(f"HTTP {response.status_code}")
        except (httpx.HTTPError, UnsafeTarget, DeliveryFailed) as exc:
            outcome = "gave_up" if job.attempts >= job.retries else "failed"
            await self._record(sub.id, {**entry, "outcome": outcome, "error": str(exc) or type(exc).__name__})
            raise DeliveryFailed(f"{outcome}: {str(exc) or type(exc).__name__}") from None
        await self._record(sub.id, {**entry, "outcome": "delivered", "status_code": response.status_code})
        return response.status_code

    async def _record(self, sub_id: str, entry: dict[str, str | int]) -> None:
        DELIVERIES.labels(str(entry["outcome"])).inc()
        await self._redis.xadd(log_key(sub_id), entry, maxlen=LOG_LENGTH, approximate=True)  # type: ignore[arg-type]
