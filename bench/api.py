"""API latency: GET /alerts (paginated, limit 50) by concurrent clients over a known number of alerts."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from bench import clients, events
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import percentile, rounded
from bench.usage import MB, CpuWindow, tree_rss
from tests.infra import Stack

PAGE = 50


async def load_alerts(stack: Stack, knobs: Knobs) -> dict[str, Any]:
    """Raise `alerts` alerts through the pipeline (households below the line over `townships` townships)."""
    redis = clients.redis_client(stack)
    base = await clients.alert_count(redis)
    start = time.monotonic()
    accepted = 0
    async with clients.ingest_client(stack, 2) as ingest:
        for first in range(0, knobs.alerts, 1000):
            batch = [
                events.below_line("ALR", n, knobs.townships) for n in range(first, min(first + 1000, knobs.alerts))
            ]
            accepted += (await clients.post_batch(ingest, batch))["accepted"]
    posted = time.monotonic() - start
    deadline = start + knobs.drain_seconds + knobs.alerts / 100
    count = 0
    try:
        while time.monotonic() < deadline:
            count = await clients.alert_count(redis) - base
            if count >= accepted:
                break
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    seconds = time.monotonic() - start
    return {
        "accepted": accepted,
        "alerts": count,
        "post_seconds": round(posted, 1),
        "seconds": round(seconds, 1),
        "complete": count >= accepted,
        "events_per_s": round(count / seconds, 1),
    }


async def list_run(stack: Stack, knobs: Knobs, total: int) -> dict[str, Any]:
    """`api_clients` clients page through GET /alerts for `api_seconds`; requests in flight then finish.

    The run stops early if the API's RSS passes BENCH_API_RSS_LIMIT_MB (default 4096), so that a listing
    that loads every alert per request cannot exhaust a shared machine's memory.
    """
    api = await clients.api_client(stack, knobs.api_clients)
    limit_mb = int(os.environ.get("BENCH_API_RSS_LIMIT_MB", "4096"))
    api_pid = stack.processes["api"].popen.pid
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    pages = max(1, total // PAGE)

    async def client(index: int, deadline: float) -> None:
        page = index
        while time.monotonic() < deadline:
            began = time.monotonic()
            try:
                response = await api.get("/alerts", params={"limit": PAGE, "offset": page % pages * PAGE})
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                await asyncio.sleep(0.1)  # a failing server must not be spun on
                continue
            finally:
                page += knobs.api_clients
            if response.status_code == 200 and len(response.json()["items"]) == min(PAGE, total):
                latencies.append((time.monotonic() - began) * 1000)
            else:
                errors[f"HTTP {response.status_code}"] += 1
                await asyncio.sleep(0.1)

    async def guard(tasks: asyncio.Future[Any]) -> None:
        while not tasks.done():
            if tree_rss(api_pid) > limit_mb * MB:
                aborted.append(round(time.monotonic() - start, 1))
                tasks.cancel()
                return
            await asyncio.sleep(0.2)

    aborted: list[float] = []
    start = time.monotonic()
    running = asyncio.gather(*(client(i, start + knobs.api_seconds) for i in range(knobs.api_clients)))
    watchdog = asyncio.create_task(guard(running))
    try:
        await running
    except asyncio.CancelledError:
        if not watchdog.done():
            raise
    finally:
        watchdog.cancel()
        await api.aclose()
    seconds = time.monotonic() - start
    return {
        "requests": len(latencies),
        "errors": dict(errors),
        "aborted_after_seconds": aborted[0] if aborted else None,
        "rss_limit_mb": limit_mb,
        "seconds": round(seconds, 1),
        "requests_per_s": round(len(latencies) / seconds, 2),
        "p50_ms": rounded(percentile(latencies, 50)),
        "p99_ms": rounded(percentile(latencies, 99)),
        "max_ms": rounded(max(latencies)) if latencies else None,
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """Load the alerts through the pipeline, then time the listing."""
    stack = bench.services
    window = CpuWindow(bench.usage)
    loaded = await load_alerts(stack, knobs)
    loaded["cpu_cores"] = window.cores()
    say(f"alerts loaded: {loaded}")
    results.details["alerts_load"] = loaded
    redis = clients.redis_client(stack)
    try:
        total = await clients.alert_count(redis)
    finally:
        await redis.aclose()
    window = CpuWindow(bench.usage)
    run = await list_run(stack, knobs, total)
    run["alerts_stored"], run["cpu_cores"] = total, window.cores()
    results.details["api_alerts"] = run
    say(f"GET /alerts: {run}")
    failed = sum(run["errors"].values())
    notes = [f"{failed} of {failed + run['requests']} requests failed {run['errors']}; percentiles of the rest"]
    notes = notes if failed else []
    if run["aborted_after_seconds"] is not None:
        notes.append(f"stopped after {run['aborted_after_seconds']}s: api RSS over {run['rss_limit_mb']} MB")
    if not loaded["complete"]:
        notes.append(f"only {loaded['alerts']} of {loaded['accepted']} alerts appeared in time")
    note = "; ".join(notes) or None
    results.put("api_alerts_p50_ms", run["p50_ms"], note)
    results.put("api_alerts_p99_ms", run["p99_ms"], note)
    results.put("api_alerts_count", total)
    results.put("api_alerts_error_ratio", round(failed / max(1, failed + run["requests"]), 4))
