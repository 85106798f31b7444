"""Scale-out of scoring: 1, 2 and 4 faust workers in one group, each time through the same canonical events.

The workers join and settle before the events are produced, so that the figures are steady throughput and not
the time the group spends rebalancing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from bench import clients, scoring
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import ratio, rounded
from bench.usage import CpuWindow
from services.common import topics

WORKERS = (1, 2, 4)
STARTUP_SECONDS = 180  # longest wait for the workers to start and share the partitions


def figure(workers: int, what: str) -> str:
    """The name of one figure: scoring_1_worker_<what>, scoring_2_workers_<what>, …"""
    return f"scoring_{workers}_worker{'s' if workers > 1 else ''}_{what}"


@dataclass
class Run:
    """`workers` workers of one fresh group; (time, changelog records) every half second after producing."""

    workers: int
    group: str
    names: list[str]
    samples: list[tuple[float, int]] = field(default_factory=list)

    def finished(self, total: int) -> float:
        """When the last changelog record was written (every event writes one), else the last sample."""
        final = self.samples[-1][1]
        return next(at for at, written in self.samples if written == final) if final >= total else self.samples[-1][0]


def _changelog_records(admin: KafkaAdminClient, group: str) -> int:
    with contextlib.suppress(KafkaError, ValueError):  # the changelog topic appears when the first worker starts
        return sum(clients.end_offsets(admin, f"{group}-households-changelog").values())
    return 0


async def _settle(bench: BenchStack, admin: KafkaAdminClient, run: Run, logs: dict[str, int]) -> list[list[int]]:
    """Wait until every worker is ready and the group stable with each holding partitions; their partitions."""
    deadline = time.monotonic() + STARTUP_SECONDS
    for name in run.names:
        await bench.wait_for_log(name, scoring.WORKER_READY, logs[name], deadline - time.monotonic())
    while time.monotonic() < deadline:
        state, assignment = clients.group_assignment(admin, run.group, topics.CANONICAL)
        if state == "Stable" and len(assignment) == run.workers and all(assignment.values()):
            return sorted(assignment.values())
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{run.workers} scoring workers did not share {topics.CANONICAL} within {STARTUP_SECONDS}s")


async def run_workers(bench: BenchStack, run: Run, records: list[scoring.Record], seconds: float) -> dict[str, Any]:
    """Start and settle the workers, produce the events, sample until all are committed; stop the workers."""
    admin = clients.admin(bench.services)
    try:
        start = clients.end_offsets(admin, topics.CANONICAL)
        clients.position_group(admin, run.group, start)
        logs = {name: bench.log_offset(name) for name in run.names}
        bench.usage.mark()
        for name in run.names:
            folder = bench.workdir / f"{run.group}-{name}"
            bench.start_instance(name, "scoring", SCORING_APP_ID=run.group, SCORING_DATA_DIR=str(folder))
        assignment = await _settle(bench, admin, run, logs)
        window, began = CpuWindow(bench.usage), time.monotonic()
        produced = await scoring.produce(bench.services, records)
        produced["applied_meanwhile"] = _changelog_records(admin, run.group)
        end, cores = clients.end_offsets(admin, topics.CANONICAL), None
        while time.monotonic() < began + seconds:
            done = clients.committed(admin, run.group, list(end))
            run.samples.append((time.monotonic(), _changelog_records(admin, run.group)))
            if cores is None and run.samples[-1][1] >= len(records):
                cores = window.cores()
            if all(done[tp] >= end[tp] for tp in end):
                return _summary(bench, run, len(records), began, cores or window.cores(), assignment, produced)
            for name in run.names:
                bench.check_alive(name)
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{run.workers} scoring workers had not committed every event within {seconds:.0f}s")
    finally:
        for name in run.names:
            bench.stop(name)
        admin.close()


def _summary(
    bench: BenchStack,
    run: Run,
    total: int,
    began: float,
    cores: dict[str, float],
    assignment: list[list[int]],
    produced: dict[str, Any],
) -> dict[str, Any]:
    seconds = run.finished(total) - began
    return {
        "group": run.group,
        "events_per_s": round(total / seconds, 1),
        "seconds": round(seconds, 1),
        "produced": produced,
        "committed_all_after_seconds": round(run.samples[-1][0] - began, 1),
        "cpu_cores_workers": round(sum(cores.get(name, 0.0) for name in run.names), 2),
        "cpu_cores": cores,
        "assignment": assignment,
        "peak_rss_mb": {name: bench.usage.peak_since_mark_mb(name) for name in run.names},
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """Events/s of 1, 2 and 4 workers, per worker, speed-up over one, and the cores they kept busy."""
    bench.stop("scoring")  # the scoring phase's worker would take these events too
    sized = dataclasses.replace(knobs, events=knobs.scaleout_events)
    records = list(scoring.canonical_records(bench.services, sized))
    say(f"scale-out: {len(records)} canonical events, produced once per run after the workers have settled")
    runs: dict[int, dict[str, Any]] = {}
    for workers in WORKERS:
        names = [f"scaleout-{n}" for n in range(1, workers + 1)]
        run = Run(workers, f"bench-scaleout-{workers}-{int(time.time())}", names)
        runs[workers] = await run_workers(bench, run, records, knobs.drain_seconds + len(records) / 100)
        rate = runs[workers]["events_per_s"]
        say(f"scale-out, {workers} worker(s) on {runs[workers]['assignment']}: {rate:.0f} events/s")
        results.put(figure(workers, "events_per_s"), rate)
        results.put(figure(workers, "cpu_cores"), runs[workers]["cpu_cores_workers"])
        if workers > 1:
            results.put(figure(workers, "per_worker_events_per_s"), rounded(rate / workers))
            results.put(figure(workers, "speedup"), rounded(ratio(rate, runs[1]["events_per_s"]), 2))
    results.details["scaleout"] = {
        "events": len(records),
        "window": "from the first event produced (the workers already settled) to the last changelog write",
        "runs": runs,
    }
