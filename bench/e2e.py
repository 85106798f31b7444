"""End to end: from ingest's acceptance of a registration to its alert being visible through the API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from bench import clients, events
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import percentile, rounded
from bench.usage import CpuWindow
from tests.infra import Stack

TICK = 0.05  # an open-loop run offers one batch every TICK seconds
POLLS_IN_FLIGHT = 16  # the pollers never load the API with more than this many requests at once


class Poller:
    """Polls GET /alerts?household_id= for sampled households, backing off as the wait grows.

    A poll comes 20% of the time waited so far after the previous one (25 ms to 1 s apart), so the
    visible time is late by at most a fifth of the latency; `written_ms` (from the alert's created_at)
    is the precise lower bound.
    """

    def __init__(self, api: httpx.AsyncClient):
        self.api = api
        self.in_flight = asyncio.Semaphore(POLLS_IN_FLIGHT)
        self.give_up_at = float("inf")  # set when the offered load ends
        self.visible_ms: list[float] = []
        self.written_ms: list[float] = []
        self.polls = 0
        self.errors = 0
        self.waited_ms: list[float] = []  # of the households whose alert had not appeared at give-up time

    async def follow(self, household_id: str, accepted: float, accepted_wall: float) -> None:
        """Wait for the household's alert; record acceptance→visible and acceptance→alert created_at."""
        while time.monotonic() < self.give_up_at:
            waited = time.monotonic() - accepted
            await asyncio.sleep(min(max(0.2 * waited, 0.025), 1.0))
            self.polls += 1
            try:
                async with self.in_flight:
                    response = await self.api.get("/alerts", params={"household_id": household_id})
            except httpx.HTTPError:
                self.errors += 1
                continue
            items = response.json()["items"] if response.status_code == 200 else []
            if items:
                self.visible_ms.append((time.monotonic() - accepted) * 1000)
                created = datetime.fromisoformat(items[0]["created_at"]).timestamp()
                self.written_ms.append((created - accepted_wall) * 1000)
                return
        self.waited_ms.append((time.monotonic() - accepted) * 1000)


async def latency_run(stack: Stack, knobs: Knobs, rate: float, tag: str) -> dict[str, Any]:
    """Offer `rate` new households below the line per second for `seconds`, open loop, in small batches."""
    per_tick = max(1, round(rate * TICK))
    ticks = max(1, round(knobs.seconds / TICK))
    bodies = [
        json.dumps([events.below_line(tag, n) for n in range(t * per_tick, (t + 1) * per_tick)]).encode()
        for t in range(ticks)
    ]
    ingest = clients.ingest_client(stack, 32)
    api = await clients.api_client(stack, POLLS_IN_FLIGHT)
    poller = Poller(api)
    followers: list[asyncio.Task[None]] = []
    post_ms: list[float] = []
    counts = {"offered": 0, "accepted": 0, "failed_posts": 0}

    async def send(tick: int) -> None:
        sent = time.monotonic()
        try:
            response = await ingest.post("/events", content=bodies[tick], headers=clients.BATCH)
            response.raise_for_status()
        except httpx.HTTPError:
            counts["failed_posts"] += 1
            return
        accepted, wall = time.monotonic(), time.time()
        post_ms.append((accepted - sent) * 1000)
        for n, result in enumerate(response.json()["results"], start=tick * per_tick):
            if result["status"] != "accepted":
                continue
            counts["accepted"] += 1
            if n % knobs.e2e_sample == 0:
                household_id = f"{tag}{n:07d}"
                followers.append(asyncio.create_task(poller.follow(household_id, accepted, wall)))

    start, sends = time.monotonic(), []
    try:
        for tick in range(ticks):
            await asyncio.sleep(max(0.0, start + tick * TICK - time.monotonic()))
            sends.append(asyncio.create_task(send(tick)))
            counts["offered"] += per_tick
        offered_seconds = time.monotonic() - start
        await asyncio.gather(*sends)
        accepted_seconds = time.monotonic() - start
        poller.give_up_at = time.monotonic() + knobs.drain_seconds
        await asyncio.gather(*followers)
    finally:
        for task in [*sends, *followers]:
            task.cancel()
        await ingest.aclose()
        await api.aclose()
    return {
        "target_events_per_s": round(rate, 1),
        **counts,
        "offered_events_per_s": round(counts["offered"] / offered_seconds, 1),
        "accepted_events_per_s": round(counts["accepted"] / accepted_seconds, 1),
        "sampled": len(followers),
        "sample_every": knobs.e2e_sample,
        "timeouts": len(poller.waited_ms),
        "polls": poller.polls,
        "poll_errors": poller.errors,
        # a household still waiting at give-up time counts with its wait so far: percentiles stay lower bounds
        "visible_ms": _percentiles(poller.visible_ms + poller.waited_ms),
        "alert_created_ms": _percentiles(poller.written_ms + poller.waited_ms),
        "ingest_batch_post_ms": _percentiles(post_ms),
        "drain_seconds": round(time.monotonic() - start - accepted_seconds, 1),
    }


async def sustained_run(stack: Stack, knobs: Knobs, tag: str) -> dict[str, Any]:
    """Closed loop for `e2e_seconds`: keep at most `e2e_backlog` events between acceptance and alert."""
    redis = clients.redis_client(stack)
    ingest = clients.ingest_client(stack, 4)
    base = await clients.alert_count(redis)
    state = {"accepted": 0, "alerted": 0, "next": 0, "failed_posts": 0}
    seen: list[tuple[float, int]] = []
    start = time.monotonic()
    deadline = start + knobs.e2e_seconds

    async def watch() -> None:
        while True:
            state["alerted"] = await clients.alert_count(redis) - base
            seen.append((time.monotonic(), state["alerted"]))
            await asyncio.sleep(0.2)

    async def sender() -> None:
        while time.monotonic() < deadline:
            if state["accepted"] - state["alerted"] >= knobs.e2e_backlog:
                await asyncio.sleep(0.02)
                continue
            first, state["next"] = state["next"], state["next"] + 100
            try:
                body = await clients.post_batch(ingest, [events.below_line(tag, n) for n in range(first, first + 100)])
            except httpx.HTTPError:
                state["failed_posts"] += 1
                continue
            state["accepted"] += body["accepted"]

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(sender(), sender())
        await asyncio.sleep(0.3)
    finally:
        watcher.cancel()
        await ingest.aclose()
        await redis.aclose()
    warm = start + min(10.0, knobs.e2e_seconds * 0.2)
    window = [(t, n) for t, n in seen if warm <= t <= deadline]
    rate = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 else None
    return {
        "seconds": knobs.e2e_seconds,
        "warmup_seconds": round(warm - start, 1),
        "backlog_limit": knobs.e2e_backlog,
        "accepted": state["accepted"],
        "alerted": state["alerted"],
        "failed_posts": state["failed_posts"],
        "events_per_s": rounded(rate),
        "ingest_accepted_per_s": round(state["accepted"] / knobs.e2e_seconds, 1),
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """Sustained end-to-end rate, then latency at the offered rate and at half the sustained rate."""
    stack = bench.services
    window = CpuWindow(bench.usage)
    sustained = await sustained_run(stack, knobs, "SUS")
    sustained["cpu_cores"] = window.cores()
    results.details["e2e_sustained"] = sustained
    say(f"e2e sustained: {sustained}")
    results.put("e2e_events_per_s", sustained["events_per_s"])
    runs = [("", knobs.e2e_rate, "E2E")]
    if sustained["events_per_s"]:
        runs.append(("_at_half_capacity", sustained["events_per_s"] / 2, "HALF"))
    for suffix, rate, tag in runs:
        await settle(stack, knobs.drain_seconds)
        window = CpuWindow(bench.usage)
        run = await latency_run(stack, knobs, rate, tag)
        run["cpu_cores"] = window.cores()
        results.details[f"e2e_latency{suffix}"] = run
        say(f"e2e latency{suffix}: {run}")
        visible = run["visible_ms"]
        note = None
        if run["timeouts"] or run["failed_posts"]:
            note = (
                f"{run['timeouts']} of {run['sampled']} sampled alerts not visible BENCH_DRAIN_SECONDS after the "
                "load ended, counted at their wait so far: percentiles are lower bounds; "
                f"{run['failed_posts']} batch POSTs failed"
            )
        results.put(f"e2e_latency{suffix}_p50_ms", visible["p50"], note)
        results.put(f"e2e_latency{suffix}_p99_ms", visible["p99"], note)
        results.put(f"e2e_alert_written{suffix}_p50_ms", run["alert_created_ms"]["p50"], note)
        results.put(f"e2e_alert_written{suffix}_p99_ms", run["alert_created_ms"]["p99"], note)
        if not suffix:
            results.put("e2e_offered_events_per_s", run["offered_events_per_s"])
            results.put("e2e_accepted_events_per_s", run["accepted_events_per_s"])


async def settle(stack: Stack, seconds: float) -> None:
    """Wait (at most `seconds`) until no new alert has appeared for a second: the pipeline is idle."""
    redis = clients.redis_client(stack)
    try:
        deadline, last, quiet = time.monotonic() + seconds, -1, 0
        while time.monotonic() < deadline and quiet < 2:
            count = await clients.alert_count(redis)
            quiet, last = (quiet + 1 if count == last else 0), count
            await asyncio.sleep(0.5)
    finally:
        await redis.aclose()


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": rounded(percentile(values, 50)),
        "p99": rounded(percentile(values, 99)),
        "max": rounded(max(values)) if values else None,
    }
