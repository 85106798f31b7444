"""Entry point of `make bench` (`python -m bench.run [--smoke]`): start everything, measure, report, stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer

from bench import api, clients, cluster, e2e, failover, importing, ingest, push, report, scaleout, scoring, state
from bench.command import exit_with
from bench.config import Knobs, load
from bench.results_model import Results
from bench.stack import BenchStack
from bench.usage import BENCH, CpuWindow, Usage
from services.common import topics

# phase: the prefixes of the figures it measures, in the order the phases run
PHASES: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest_", "kafka_"),
    "import": ("import_",),
    "scoring": ("scoring_events", "scoring_vs_", "scoring_peak_", "scoring_model_", "raw_", "bare_"),
    "scaleout": tuple(scaleout.figure(workers, "") for workers in scaleout.WORKERS),
    "state": ("state_",),
    "failover": ("failover_",),
    "api": ("api_",),
    "e2e": ("e2e_",),
    "push": ("push_",),
    "cluster": ("cluster_",),
}
_started = time.monotonic()


def say(message: str) -> None:
    """Progress on stdout, with the time since the start."""
    print(f"[bench {time.monotonic() - _started:6.1f}s] {message}", flush=True)


async def start_pipeline(bench: BenchStack) -> None:
    """Make sure scoring runs, and start alerts from the end of `scores` (skipping the scoring run's)."""
    admin = clients.admin(bench.services)
    try:
        scoring_process = bench.services.processes.get("scoring")
        if scoring_process is None or scoring_process.popen.poll() is not None:
            group = f"bench-scoring-e2e-{int(time.time())}"
            clients.position_group(admin, group, clients.end_offsets(admin, topics.CANONICAL))
            offset = bench.log_offset("scoring")
            bench.start("scoring", SCORING_APP_ID=group)
            await bench.wait_for_log("scoring", scoring.WORKER_READY, offset, 180)
        group = f"bench-alerts-{int(time.time())}"
        clients.position_group(admin, group, clients.end_offsets(admin, topics.SCORES))
        bench.start("alerts", ALERTS_GROUP_ID=group)
    finally:
        admin.close()


def chosen_phases() -> list[str]:
    """The phases named in BENCH_PHASES (all by default)."""
    chosen = [p.strip() for p in os.environ.get("BENCH_PHASES", ",".join(PHASES)).split(",") if p.strip()]
    unknown = set(chosen) - set(PHASES)
    if unknown:
        raise SystemExit(f"BENCH_PHASES: unknown phase(s) {sorted(unknown)}; choose from {list(PHASES)}")
    return chosen


async def phases(bench: BenchStack, knobs: Knobs, results: Results, chosen: list[str]) -> None:
    """Each phase in turn; a failed phase leaves its figures null with the error, and the next one runs."""
    steps: dict[str, Callable[[], Awaitable[None]]] = {
        "ingest": lambda: ingest.measure(bench, knobs, results, say),
        "import": lambda: importing.measure(bench, knobs, results, say),
        "scoring": lambda: scoring.measure(bench, knobs, results, say),
        "scaleout": lambda: scaleout.measure(bench, knobs, results, say),
        "state": lambda: state.measure(bench, knobs, results, say),
        "failover": lambda: failover.measure(bench, knobs, results, say),
        "api": lambda: api.measure(bench, knobs, results, say),
        "e2e": lambda: e2e.measure(bench, knobs, results, say),
        "push": lambda: push.measure(bench, knobs, results, say),
        "cluster": lambda: cluster.measure(bench, knobs, results, say),
    }
    for name, prefixes in PHASES.items():
        figures = [figure for figure, _, _ in report.FIGURES if figure.startswith(prefixes)]
        if name not in chosen:
            results.missing(figures, "phase not chosen in BENCH_PHASES")
            continue
        say(f"phase {name}")
        try:
            if name in ("api", "e2e") and "alerts" not in bench.services.processes:
                await start_pipeline(bench)
            await steps[name]()
        except Exception as exc:  # noqa: BLE001 - record the failure and go on with the next phase
            traceback.print_exc()
            results.missing(figures, f"phase {name} failed: {type(exc).__name__}: {exc}"[:300])
        for process, code in bench.exited().items():
            key = f"exited_{process}"
            if key not in results.notes:
                results.notes[key] = f"{process} exited with {code} during phase {name} (see bench/results/logs)"
                say(results.notes[key])


def main(
    smoke: Annotated[bool, typer.Option("--smoke", help="a tiny run (a few seconds per figure), e.g. for CI")] = False,
) -> int:
    """Run the bench; exit status 0 when complete, 1 when a phase failed, 130 when interrupted."""
    knobs, chosen = load(smoke=smoke), chosen_phases()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored (`&`)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))  # stop as on Ctrl-C
    results, usage, started = Results(), Usage(), report.now()
    bench = BenchStack(usage)
    status = "complete"
    say(f"knobs: {knobs.as_dict()}")
    usage.start()
    whole_run = CpuWindow(usage)
    try:
        say("starting Kafka, Redis, ingest and api on free ports")
        bench.start_infra(knobs.redis_maxmemory_mb)
        bench.start("ingest")
        bench.start("api")
        asyncio.run(phases(bench, knobs, results, chosen))
    except KeyboardInterrupt:
        status = "interrupted"
    except Exception as exc:  # noqa: BLE001 - still stop everything and write what was measured
        traceback.print_exc()
        status = f"failed: {type(exc).__name__}: {exc}"[:200]
    finally:
        usage.sample()
        usage.stop()
        results.details["cpu_cores_whole_run"] = cores = whole_run.cores()
        say("stopping every process")
        bench.close()
    if cores["others"] >= 0.25:
        results.notes["machine"] = (
            f"shared machine: processes outside the bench kept {cores['others']} of {os.cpu_count()} cores busy "
            "on average during the run; throughput figures are lower bounds, latencies upper bounds"
        )
    for name, peak in usage.peaks_mb().items():
        if name in (*report.SERVICES, BENCH):  # extra instances (scale-out workers) are in their phase's details
            results.put(f"peak_rss_{name}_mb", peak)
    if status == "complete" and any(v is None for k, v in results.figures.items()):
        status = "incomplete"
    doc = report.document(results, knobs, status, started, time.monotonic() - _started)
    json_path, md_path = report.write(doc)
    say(f"wrote {json_path} and {md_path}")
    return {"complete": 0, "interrupted": 130}.get(status, 1)


if __name__ == "__main__":
    exit_with(main)
