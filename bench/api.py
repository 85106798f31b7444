"""API latency: GET /alerts (paged, limit 50) and GET /stats by concurrent staff clients over many alerts."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import clients, events
from bench.config import Knobs
from bench.rawhttp import RawConnection
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import median, percentile, rounded
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


@dataclass(frozen=True)
class Query:
    """What one client keeps asking, as which member of staff; a paged query walks through its offsets."""

    name: str
    username: str
    role: str
    jurisdiction: str
    path: str
    params: dict[str, str]
    paged: bool = True


def township(n: int, knobs: Knobs) -> str:
    """The n-th township of the bench county (as events.region_code numbers them)."""
    return f"{events.COUNTY}{101 + n % knobs.townships:03d}"


COUNTY_SUPERVISOR = ("bench.county", "county_supervisor", events.COUNTY)
BOARD = Query("county_board", *COUNTY_SUPERVISOR, "/stats", {}, paged=False)


def queries(knobs: Knobs) -> list[Query]:
    """One query per client, round robin over realistic kinds; each township worker has a township of their own."""
    county = COUNTY_SUPERVISOR
    kinds = [
        lambda n: Query("township_list", f"bench.town{n}", "township_worker", township(n, knobs), "/alerts", {}),
        lambda n: Query("county_open", *county, "/alerts", {"status": "open"}),
        lambda n: Query("county_township_red", *county, "/alerts", {"region_code": township(n, knobs), "level": "red"}),
        lambda n: Query("county_overdue_queue", *county, "/alerts", {"overdue": "true", "queue": "county"}),
        lambda n: Query("admin_all", "admin", "admin", "", "/alerts", {}),
    ]
    return [kinds[i % len(kinds)](i // len(kinds)) for i in range(knobs.api_clients)]


async def log_in(api: httpx.AsyncClient, stack: Stack, wanted: list[Query]) -> dict[str, dict[str, str]]:
    """Create the queries' staff (as admin) and log each in once: username -> authorization header."""
    headers = {"admin": await _authorization(api, "admin", stack.admin_password)}
    for query in {q.username: q for q in wanted if q.username != "admin"}.values():
        password = f"{query.username}-password"
        body = {"username": query.username, "password": password, "role": query.role, "region_code": query.jurisdiction}
        created = await api.post("/users", json=body, headers=headers["admin"])
        if created.status_code != 409:
            created.raise_for_status()
        headers[query.username] = await _authorization(api, query.username, password)
    return headers


async def _authorization(api: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await api.post("/auth/token", data={"username": username, "password": password})
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def list_run(stack: Stack, wanted: list[Query], seconds: float) -> dict[str, Any]:
    """A client per query repeats it for `seconds` on a keep-alive connection of its own (a client cheap enough
    not to be the bottleneck), paging through its results; requests in flight then finish.

    The run stops early if the API's RSS passes BENCH_API_RSS_LIMIT_MB (default 4096), so that a listing
    that loads every alert per request cannot exhaust a shared machine's memory.
    """
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
        headers = await log_in(api, stack, wanted)
    limit_mb = int(os.environ.get("BENCH_API_RSS_LIMIT_MB", "4096"))
    api_pid = stack.processes["api"].popen.pid
    latencies: dict[str, list[float]] = {q.name: [] for q in wanted}
    errors: Counter[str] = Counter()

    async def client(index: int, query: Query, deadline: float) -> None:
        connection = RawConnection(stack.api_url, headers[query.username])
        page, total = index, 0
        try:
            while time.monotonic() < deadline:
                offset = page % max(1, -(-total // PAGE)) * PAGE
                params = {**query.params, "limit": PAGE, "offset": offset} if query.paged else query.params
                began = time.monotonic()
                page += 1
                try:
                    status, content = await connection.request("GET", f"{query.path}?{urlencode(params)}", b"")
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors[f"{query.name}: {type(exc).__name__}"] += 1
                    await connection.close()
                    await asyncio.sleep(0.1)  # a failing server must not be spun on
                    continue
                body = json.loads(content) if status == 200 else None
                expected = min(PAGE, max(0, body["total"] - offset)) if body and query.paged else None
                if body is None or (expected is not None and len(body["items"]) != expected):
                    errors[f"{query.name}: " + (f"HTTP {status}" if body is None else "short page")] += 1
                    await asyncio.sleep(0.1)
                    continue
                latencies[query.name].append((time.monotonic() - began) * 1000)
                total = body.get("total", 0)
        finally:
            await connection.close()

    async def guard(tasks: asyncio.Future[Any]) -> None:
        while not tasks.done():
            if tree_rss(api_pid) > limit_mb * MB:
                aborted.append(round(time.monotonic() - start, 1))
                tasks.cancel()
                return
            await asyncio.sleep(0.2)

    aborted: list[float] = []
    start = time.monotonic()
    running = asyncio.gather(*(client(i, q, start + seconds) for i, q in enumerate(wanted)))
    watchdog = asyncio.create_task(guard(running))
    try:
        await running
    except asyncio.CancelledError:
        if not watchdog.done():
            raise
    finally:
        watchdog.cancel()
    seconds = time.monotonic() - start
    everything = [ms for found in latencies.values() for ms in found]
    return {
        "requests": len(everything),
        "errors": dict(errors),
        "aborted_after_seconds": aborted[0] if aborted else None,
        "rss_limit_mb": limit_mb,
        "seconds": round(seconds, 1),
        "requests_per_s": round(len(everything) / seconds, 2),
        "p50_ms": rounded(percentile(everything, 50)),
        "p99_ms": rounded(percentile(everything, 99)),
        "max_ms": rounded(max(everything)) if everything else None,
        "by_query": {
            name: {"clients": sum(q.name == name for q in wanted), "requests": len(found),
                   "p50_ms": rounded(percentile(found, 50)), "p99_ms": rounded(percentile(found, 99))}
            for name, found in latencies.items()
        },
    }  # fmt: skip


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """Load the alerts through the pipeline, time the listing by many clients, then the board by one."""
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
    from bench.crowd import alternated_runs  # crowd.py builds on this module's clients

    alone, crowds = await alternated_runs(bench, knobs, queries(knobs), say)
    results.details["api_alerts"] = {**alone[0], "alerts_stored": total, "p99_ms_of_runs": [r["p99_ms"] for r in alone]}
    results.details["api_crowd"] = {**crowds[0], "p99_ms_of_runs": [c["api"]["p99_ms"] for c in crowds]}
    board = await list_run(stack, [BOARD], max(2, knobs.api_seconds / 4))
    results.details["api_stats"] = board
    say(f"GET /stats: {board}")
    failed = sum(sum(r["errors"].values()) for r in alone)
    requests = sum(r["requests"] for r in alone)
    notes = [f"{failed} of {failed + requests} requests failed; percentiles of the rest"] if failed else []
    notes += [f"stopped after {r['aborted_after_seconds']}s: api RSS over {r['rss_limit_mb']} MB" for r in alone
              if r["aborted_after_seconds"] is not None]  # fmt: skip
    if not loaded["complete"]:
        notes.append(f"only {loaded['alerts']} of {loaded['accepted']} alerts appeared in time")
    note = "; ".join(notes) or None
    alone_p99 = rounded(median([r["p99_ms"] for r in alone if r["p99_ms"] is not None]))
    results.put("api_alerts_p50_ms", rounded(median([r["p50_ms"] for r in alone if r["p50_ms"] is not None])), note)
    results.put("api_alerts_p99_ms", alone_p99, note)
    results.put("api_alerts_count", total)
    results.put("api_alerts_error_ratio", round(failed / max(1, failed + requests), 4))
    board_failed = sum(board["errors"].values())
    board_note = f"{board_failed} requests failed {board['errors']}" if board_failed else None
    crowd_failed = sum(sum(c["api"]["errors"].values()) for c in crowds)
    opened = min(c["streams_open"] for c in crowds)
    exports = sum((Counter(c["exports"]) for c in crowds), Counter())
    crowd_note = f"at least {opened} of {knobs.crowd_streams} streams open; exports {dict(exports)}" + (
        f"; {crowd_failed} GET /alerts failed" if crowd_failed else ""
    )
    crowd_p99 = rounded(median([c["api"]["p99_ms"] for c in crowds if c["api"]["p99_ms"] is not None]))
    results.put("api_alerts_crowd_p99_ms", crowd_p99, crowd_note)
    if crowd_p99 and alone_p99:
        results.put("api_alerts_crowd_vs_alone_p99_ratio", round(crowd_p99 / alone_p99, 2))
    results.put("api_stats_p50_ms", board["p50_ms"], board_note)
    results.put("api_stats_p99_ms", board["p99_ms"], board_note)
