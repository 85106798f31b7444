"""Redis memory against its `maxmemory`, as gauges on the API's /metrics (alert rule: deploy/prometheus/rules.yml).

Redis runs with `maxmemory` and `noeviction`: when full it refuses writes loudly instead of dropping keys, so the
rule fires at 80 % (REDIS_MEMORY_WARN_RATIO) while there is room to act, and the API logs a warning too."""

from __future__ import annotations

import asyncio
import logging

from prometheus_client import Gauge
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.settings import ApiSettings

log = logging.getLogger(__name__)
USED = Gauge("shouwang_redis_memory_used_bytes", "Memory Redis uses (INFO memory: used_memory)")
LIMIT = Gauge("shouwang_redis_memory_max_bytes", "Redis maxmemory (0: no limit set)")
RATIO = Gauge("shouwang_redis_memory_used_ratio", "used_memory / maxmemory (0 without a limit)")


async def measure(redis: Redis, warn_ratio: float) -> float:
    """Read Redis memory into the gauges; returns the used share of maxmemory (0 without a limit)."""
    info = await redis.info("memory")
    used, limit = int(info["used_memory"]), int(info.get("maxmemory", 0))
    ratio = used / limit if limit else 0.0
    USED.set(used)
    LIMIT.set(limit)
    RATIO.set(ratio)
    if ratio > warn_ratio:
        log.warning("Redis uses %.0f%% of its maxmemory (%d of %d bytes): writes fail when it is full", ratio * 100,
                    used, limit)  # fmt: skip
    return ratio


async def watch_redis_memory(redis: Redis, settings: ApiSettings) -> None:
    """Measure every REDIS_MEMORY_CHECK_SECONDS until cancelled."""
    while True:
        try:
            await measure(redis, settings.redis_memory_warn_ratio)
        except (RedisError, OSError) as exc:
            log.warning("Redis memory not measured: %s", exc)
        await asyncio.sleep(settings.redis_memory_check_seconds)
