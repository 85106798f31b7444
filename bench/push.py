"""A county's monthly push through ingest's batch endpoint, timed until every consumer group has drained."""

from __future__ import annotations

import asyncio
import itertools
import statistics
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
PHASES = ("registrations", "month")  # a county's push: everyone registered, then a month of events
# (figure name, scoring workers) in the order they run: model and rules as A B B A A B B A A B, so that what drifts
# through a run (the JVM's compiled code, Redis and the topics filling up) weighs on both alike; each figure is the
# median of its five runs, so that the machine's own moods do not decide it (seen: every process 20 % slower in one
# run; two rules runs of the same code 54 and 65 CPU-seconds; with three runs a figure moved by 10 % between benches)
RUNS = (
    *(("model", 1), ("rules", 1), ("rules", 1), ("model", 1)) * 2,
    ("model", 1),
    ("rules", 1),
    ("model_2_workers", 2),
)
WARM_UP_SHARE = 2  # the warm-up push, not measured: half the county, registrations and month (Kafka's JIT settles)
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
        alerts_before, memory_before = await clients.alert_count(redis), await clients.redis_used_bytes(redis)
        rewrites_before = await clients.aof_rewrites(redis)
        bench.usage.mark()
        window, started = CpuWindow(bench.usage), time.monotonic()
        sent = await _send(bench, events)
        posted = time.monotonic()
        reached = await _drained(bench, pairs, drain)
        cores, finished = window.cores(), max(reached.values())
        alerts = await clients.alert_count(redis) - alerts_before
        memory_added = await clients.redis_used_bytes(redis) - memory_before
        rewrites = await clients.aof_rewrites(redis) - rewrites_before
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
        "redis_bytes_added_per_event": round(memory_added / max(count, 1)),
        "redis_aof_rewrites": rewrites,  # each forks Redis and writes its whole dataset: a cost that comes in steps
        "cpu_seconds_per_1000_events": {k: v for k, v in cpu.items() if v},
        "peak_rss_mb": {name: bench.usage.peak_since_mark_mb(name) for name in processes},
        "cores": cores,
    }


async def _push(bench: BenchStack, run: str, workers: int, households: int, townships: int, drain: float) -> dict[
        str, Any]:  # fmt: skip
    """One push (registrations, then a month) through fresh groups: each phase's measures."""
    tag = f"{run.replace('_', '')}{int(time.time() * 1000) % 10_000_000}"
    for name in ("scoring", "scoring-2", "alerts"):
        bench.stop(name)
    redis = clients.redis_client(bench.services)
    try:  # each push meets the Redis the first one met (an AOF rewrite in one run but not another swung them by 30 %)
        await clients.forget_pushes(redis)
    finally:
        await redis.aclose()
    scoring_app, alerts_group = await start(bench, tag, workers)
    drained_by = groups(scoring_app, alerts_group)
    return {
        PHASES[0]: await run_phase(
            bench, push_events.registrations(f"P{tag}", households, townships), drained_by, drain
        ),
        PHASES[1]: await run_phase(bench, push_events.month(f"P{tag}", households, townships), drained_by, drain),
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """push_* figures: a county's registrations and then its month, with the model, rules only, and 2 workers."""
    households, townships = knobs.push_households, knobs.townships
    drain = knobs.drain_seconds + households / 50
    trained = models.ensure_trained(bench)
    models.activate(bench)
    warm = await _push(bench, "warmup", 1, max(households // WARM_UP_SHARE, 1), townships, drain)
    say(f"push warm-up (not measured): {warm}")
    runs: dict[str, list[dict[str, Any]]] = {}
    for run, workers in RUNS:
        (models.rules_only if run == "rules" else models.activate)(bench)
        measured = await _push(bench, run, workers, households, townships, drain)
        for phase in PHASES:
            say(f"push {run} {phase}: {measured[phase]}")
        runs.setdefault(run, []).append(measured)
    for run, measures in runs.items():
        model = None if run == "rules" else trained["version"]
        results.details[f"push_{run}"] = {"workers": dict(RUNS)[run], "model": model, "runs": measures}
        for phase in PHASES:
            for figure in ("events_per_s", "scoring_events_per_s"):
                values = [m[phase][figure] for m in measures]
                results.put(f"push_{run}_{phase}_{figure}", rounded(statistics.median(values)))
    for phase in PHASES:
        model, rules = (results.figures.get(f"push_{run}_{phase}_events_per_s") for run in ("model", "rules"))
        results.put(f"push_model_vs_rules_{phase}_ratio", round(model / rules, 3) if model and rules else None)
    first = runs["model"][0]  # what a county's households cost in Redis after both pushes (its sizing)
    added = sum(first[phase]["redis_bytes_added_per_event"] * first[phase]["events"] for phase in PHASES)
    results.put("push_redis_bytes_per_household", round(added / households))
    for name in ("scoring-2",):
        bench.stop(name)
