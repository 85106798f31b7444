"""The outbox is trimmed only below what the webhook router has routed, and keeps its retention for the live stream."""

import asyncio
import time
from typing import Any

import pytest

from services.alerts.notify import GROUP, Notifier
from services.alerts.store import OUTBOX
from services.alerts.subscriptions import SubscriptionStore
from services.alerts.webhooks import WebhookJobs
from services.common.job_queues import job_queue
from services.common.redis_connections import redis_client
from services.regions.directory import RegionDirectory

pytestmark = pytest.mark.integration


def test_the_outbox_keeps_what_is_unrouted_or_unacknowledged_and_trims_only_below_it(redis_url):
    url = redis_url.rsplit("/", 1)[0] + "/6"

    async def run() -> tuple[list[str], list[str]]:
        redis = redis_client(url, decode_responses=True)
        await redis.flushdb()
        try:
            old = int(time.time() * 1000) - 48 * 3_600_000  # older than the 24 h retention
            ids = [await redis.xadd(OUTBOX, {"change": "{}"}, id=f"{old + n}-0") for n in range(10)]
            await redis.xgroup_create(OUTBOX, GROUP, id="0")
            await redis.xreadgroup(GROUP, "a-router", {OUTBOX: ">"}, count=6)  # routed 6, acknowledged 4
            await redis.xack(OUTBOX, GROUP, *ids[:4])
            jobs = WebhookJobs(job_queue(url, "webhooks-test"), 3, 1, 10, 5, 60)
            await Notifier(redis, SubscriptionStore(redis), jobs, RegionDirectory(redis), retention_hours=24).upkeep()
            stream: Any = await redis.xrange(OUTBOX)
            left = [str(entry_id) for entry_id, _ in stream]
            return [str(i) for i in ids], left
        finally:
            await redis.flushdb()
            await redis.aclose()

    ids, left = asyncio.run(run())
    assert left == ids[4:]  # the two read but unacknowledged, and the four never read, stay
