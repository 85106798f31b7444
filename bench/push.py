"""A county's monthly push through ingest's batch endpoint, timed until every consumer group has drained."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench import clients, models, push_events
from bench.config import Knobs
from bench.results_model import Results
from bench.scoring import WORKER_READY
from bench.stack import BenchStack
from bench.stats import rounded
from bench.usage import CpuWindow
from services.common import topics

BATCH, CLIENTS = 1000, 4  # events a request, concurrent clients: a department's integration
RUNS = (("model", 1), ("rules", 1), ("model_2_workers", 2))  # (figure name, scoring workers)
PROCESSES = ("ingest", "scoring", "scoring-2", "alerts", "api", "kafka", "redis")


async def _send(bench: BenchStack, events: Iterator[dict[str, Any]]) -> dict[str, int]:
    """POST every event in batches from CLIENTS clients; totals of the 207 outcomes."""
    batches = iter(lambda: list(itertools.islice(events, BATCH)), [])
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    async with clients.ingest_client(bench.services, CLIENTS) as client:

        async def worker() -> None:
            for batch in batches:
                body = await clients.post_batch(client, batch)
                for key in totals:
                    totals[key] += int(body[key])

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return totals


def groups(scoring_app: str, alerts_group: str) -> list[tuple[str, str]]:
    """(consumer group, topic) pairs the push goes through."""
    return [
        (scoring_app, topics.CANONICAL),
        (alerts_group, topics.SCORES),
        (f"{alerts_group}-projector", topics.ALERT_CHANGES),
    ]


async def _drained(bench: BenchStack, pairs: list[tuple[str, str]], seconds: float) -> dict[str, float]:
    """Wait until every group has committed the end of its topic; when each one got there."""
    admin, reached = clients.admin(bench.services), dict[str, float]()
    deadline = time.monotonic() + seconds
    try:
        while len(reached) < len(pairs):
            for group, topic in pairs:
                if group in reached:
                    continue
                end = clients.end_offsets(admin, topic)
                done = clients.committed(admin, group, list(end))
                if all(done[tp] >= end[tp] for tp in end):
                    reached[group] = time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"not drained within {seconds:.0f}s: {sorted({g for g, _ in pairs} - set(reached))}")
            for name in ("scoring", "alerts"):
                bench.check_alive(name)
            await asyncio.sleep(0.5)
    finally:
        admin.close()
    return reached


async def start(bench: BenchStack, tag: str, workers: int) -> tuple[str, str]:
    """Fresh scoring and alerts groups positioned at the ends of their topics, and their workers started."""
    scoring_app, alerts_group = f"bench-push-scoring-{tag}", f"bench-push-alerts-{tag}"
    admin = clients.admin(bench.services)
    try:
        for group, topic in groups(scoring_app, alerts_group):
            clients.position_group(admin, group, clients.end_offsets(admin, topic))
    finally:
        admin.close()
    for name in ("scoring", "scoring-2", "alerts"):
        bench.stop(name)
    bench.start("alerts", ALERTS_GROUP_ID=alerts_group)
    names = ["scoring", "scoring-2"][:workers]
    offsets = {name: bench.log_offset(name) for name in names}
    for name in names:
        folder = str(bench.workdir / f"push-{tag}-{name}")
        bench.start_instance(name, "scoring", SCORING_APP_ID=scoring_app, SCORING_DATA_DIR=folder)
    for name in names:
        await bench.wait_for_log(name, WORKER_READY, offsets[name], 180)
    return scoring_app, alerts_group


async def run_phase(
    bench: BenchStack,
    events: Iterator[dict[str, Any]],
    pairs: list[tuple[str, str]],
    drain: float,
    processes: tuple[str, ...] = PROCESSES,
) -> dict[str, Any]:
    """Send one phase's events and time it until every group has drained; CPU and memory of `processes`."""
    redis = clients.redis_client(bench.services)
    try:
        alerts_before = await clients.alert_count(redis)
        bench.usage.mark()
        window, started = CpuWindow(bench.usage), time.monotonic()
        sent = await _send(bench, events)
        posted = time.monotonic()
        reached = await _drained(bench, pairs, drain)
        cores, finished = window.cores(), max(reached.values())
        alerts = await clients.alert_count(redis) - alerts_before
    finally:
        await redis.aclose()
    seconds, count = finished - started, sent["accepted"]
    cpu = {name: round(cores.get(name, 0.0) * seconds / max(count, 1) * 1000, 2) for name in processes}
    return {
        "events": count,
        "outcomes": sent,
        "seconds": round(seconds, 1),
        "events_per_s": rounded(count / seconds),
        "ingest_events_per_s": rounded(count / (posted - started)),
        "scoring_events_per_s": rounded(count / (reached[pairs[0][0]] - started)),
        "alerts_raised": alerts,
        "cpu_seconds_per_1000_events": {k: v for k, v in cpu.items() if v},
        "peak_rss_mb": {name: bench.usage.peak_since_mark_mb(name) for name in processes},
        "cores": cores,
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """push_* figures: a county's registrations and then its month, with the model, rules only, and 2 workers."""
    households, townships = knobs.push_households, knobs.townships
    drain = knobs.drain_seconds + households / 50
    trained = models.ensure_trained(bench)
    for run, workers in RUNS:
        (models.rules_only if run == "rules" else models.activate)(bench)
        tag = f"{run.replace('_', '')}{int(time.time()) % 100000}"
        scoring_app, alerts_group = await start(bench, tag, workers)
        drained_by = groups(scoring_app, alerts_group)
        details: dict[str, Any] = {"workers": workers, "model": None if run == "rules" else trained["version"]}
        for phase, events in (
            ("registrations", push_events.registrations(f"P{tag}", households, townships)),
            ("month", push_events.month(f"P{tag}", households, townships)),
        ):
            measured = await run_phase(bench, events, drained_by, drain)
            details[phase] = measured
            say(f"push {run} {phase}: {measured}")
            results.put(f"push_{run}_{phase}_events_per_s", measured["events_per_s"])
            results.put(f"push_{run}_{phase}_scoring_events_per_s", measured["scoring_events_per_s"])
        results.details[f"push_{run}"] = details
    for phase in ("registrations", "month"):
        model, rules = (results.figures.get(f"push_{run}_{phase}_events_per_s") for run in ("model", "rules"))
        results.put(f"push_model_vs_rules_{phase}_ratio", round(model / rules, 3) if model and rules else None)
    for name in ("scoring-2",):
        bench.stop(name)
