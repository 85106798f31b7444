"""The bench's outputs: bench/results/latest.json, latest.md and a table on the terminal."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench.config import Knobs
from bench.results_model import Results
from bench.stack import RESULTS

SERVICES = ("ingest", "scoring", "alerts", "api", "kafka", "redis")
# name, unit, how it is measured
FIGURES: list[tuple[str, str, str]] = [
    ("ingest_single_events_per_s", "events/s", "single-event POSTs on concurrent keep-alive connections; median"),
    ("ingest_batch_events_per_s", "events/s", "batch POSTs (BENCH_BATCH_SIZE events) by a few clients; median"),
    ("kafka_inbound_events_per_s", "events/s", "events.inbound → accepted by ingest's Kafka route; median of runs"),
    ("import_rows_per_s", "rows/s", "department CSV (BENCH_IMPORT_ROWS rows, matched persons) → canonical topic"),
    ("import_peak_rss_mb", "MB", "the import CLI's peak RSS during that import"),
    (
        "scoring_events_per_s",
        "events/s",
        "one faust worker through preloaded events.canonical with the bench model active (cli train), from ready",
    ),
    ("raw_consume_events_per_s", "events/s", "bare aiokafka consumer, JSON decode only, same events"),
    ("bare_faust_events_per_s", "events/s", "a faust agent doing nothing on the same events (bench/bare.py)"),
    ("scoring_vs_raw_consume_ratio", "ratio", "scoring / bare consumer"),
    ("scoring_vs_bare_faust_ratio", "ratio", "scoring / bare faust agent"),
    ("scoring_model_us_per_event", "µs", "the worker's seconds in the model (probabilities + drivers) / events"),
    ("scoring_model_us_per_assessment", "µs", "the same / households assessed (one per changed household a batch)"),
    ("scoring_peak_rss_mb", "MB", "scoring worker's peak RSS during its run"),
    (
        "scoring_1_worker_events_per_s",
        "events/s",
        "scale-out: 1 worker of a fresh group, settled, then BENCH_SCALEOUT_EVENTS canonical events produced; "
        "from the first produced to the last changelog write",
    ),
    ("scoring_2_workers_events_per_s", "events/s", "same, 2 workers in one group (own data dirs) on the same cores"),
    (
        "scoring_4_workers_events_per_s",
        "events/s",
        "same, 4 workers: on 2 cores shared with Kafka they cannot be 4× one; shows what splitting partitions "
        "buys when the cores are the limit",
    ),
    ("scoring_2_workers_per_worker_events_per_s", "events/s", "scoring_2_workers_events_per_s / 2"),
    ("scoring_4_workers_per_worker_events_per_s", "events/s", "scoring_4_workers_events_per_s / 4"),
    ("scoring_2_workers_speedup", "ratio", "2 workers / 1 (2.0 only with a free core per worker)"),
    ("scoring_4_workers_speedup", "ratio", "4 workers / 1 (bounded by the cores left beside Kafka, not by 4)"),
    ("scoring_1_worker_cpu_cores", "cores", "cores the worker kept busy in that window (details: kafka, others)"),
    ("scoring_2_workers_cpu_cores", "cores", "cores the 2 workers kept busy together"),
    ("scoring_4_workers_cpu_cores", "cores", "cores the 4 workers kept busy together"),
    ("state_bytes_per_household", "B", "a household's state as scoring stores it (registration + 14 months of income)"),
    ("state_worker_rss_mb", "MB", "a scoring worker's RSS once it has recovered BENCH_STATE_HOUSEHOLDS states"),
    ("state_rss_per_household_bytes", "B", "(that RSS - an empty worker's) / households"),
    ("state_1m_households_rss_mb", "MB", "a worker holding 1,000,000 households and the bench model (BENCH_FULL=1)"),
    (
        "state_recovery_seconds_per_1m",
        "s",
        "a worker's cold recovery of its table from the changelog, per 1,000,000 "
        "households (issue 31 measured 85 s before)",
    ),
    (
        "failover_kill_seconds",
        "s",
        "two workers with standbys, BENCH_FAILOVER_HOUSEHOLDS households: kill -9 of one "
        "mid-push until every partition scores again (longest a partition went unwritten)",
    ),
    (
        "failover_rolling_restart_worst_seconds",
        "s",
        "the same, worst step of a rolling restart (killed worker back, the other stopped and back)",
    ),
    ("e2e_events_per_s", "events/s", "sustained: alerts raised per second, closed loop, after warm-up"),
    ("e2e_latency_p50_ms", "ms", "at BENCH_E2E_RATE offered: ingest 207 → alert seen by GET /alerts?household_id="),
    ("e2e_latency_p99_ms", "ms", "same, 99th percentile"),
    ("e2e_alert_written_p50_ms", "ms", "same run: ingest 207 → the alert's created_at (precise, no polling)"),
    ("e2e_alert_written_p99_ms", "ms", "same, 99th percentile"),
    ("e2e_offered_events_per_s", "events/s", "registrations actually offered in that run"),
    ("e2e_accepted_events_per_s", "events/s", "of which ingest accepted"),
    ("e2e_latency_at_half_capacity_p50_ms", "ms", "alert visible, at half of e2e_events_per_s offered"),
    ("e2e_latency_at_half_capacity_p99_ms", "ms", "same, 99th percentile"),
    ("e2e_alert_written_at_half_capacity_p50_ms", "ms", "alert created_at, at half capacity"),
    ("e2e_alert_written_at_half_capacity_p99_ms", "ms", "same, 99th percentile"),
    (
        "api_alerts_p50_ms",
        "ms",
        "GET /alerts?limit=50 paging on, BENCH_API_CLIENTS closed-loop clients: a township worker's list, a county "
        "supervisor's open list / township red list / overdue county queue, the admin's all (details: by_query); "
        "median of BENCH_RUNS runs, each followed by its crowd run",
    ),
    ("api_alerts_p99_ms", "ms", "same, 99th percentile (median of the runs' p99s)"),
    ("api_alerts_error_ratio", "ratio", "share of those requests that failed"),
    ("api_alerts_count", "alerts", "alerts stored during the GET /alerts run"),
    (
        "api_alerts_crowd_p99_ms",
        "ms",
        "GET /alerts p99 again, with BENCH_CROWD_STREAMS live streams open and BENCH_CROWD_EXPORTS clients "
        "exporting ledgers in a loop, from a process of their own (details: api_crowd, exports by status); median "
        "of BENCH_RUNS runs",
    ),
    ("api_alerts_crowd_vs_alone_p99_ratio", "ratio", "that p99 / api_alerts_p99_ms (issue 13: within 1.2)"),
    ("api_stats_p50_ms", "ms", "then GET /stats of the county (its townships) by 1 client, BENCH_API_SECONDS / 4"),
    ("api_stats_p99_ms", "ms", "same, 99th percentile"),
    *[
        (f"push_{run}_{phase}_{what}", "events/s", f"{explained}: {run_words}, {phase_words}")
        for run, run_words in (
            ("model", "bench model active, 1 scoring worker, median of 5 runs (A B B A A B B A A B with rules)"),
            ("rules", "rules only, 1 scoring worker, median of 5 runs"),
            ("model_2_workers", "bench model active, 2 scoring workers"),
        )
        for phase, phase_words in (
            ("registrations", "BENCH_PUSH_HOUSEHOLDS registrations (~6 % below the line)"),
            ("month", "then one month: an income per household, ~3 % with a medical bill"),
        )
        for what, explained in (
            (
                "events_per_s",
                "ingest batch POSTs (1,000 events, 4 clients) until scoring, alerts and the projector drained",
            ),
            ("scoring_events_per_s", "the same until scoring's group drained"),
        )
    ],
    *[
        (f"push_model_vs_rules_{phase}_ratio", "ratio", f"push with the model ÷ rules only, {phase} (issue 24: ≥ 0.85)")
        for phase in ("registrations", "month")
    ],
    (
        "push_redis_bytes_per_household",
        "B",
        "Redis memory a county's household adds through the model run's registrations and month (alerts, "
        "timelines, score ids, ingest's duplicate claims): the size of a county's Redis",
    ),
    *[
        figure
        for phase, words in (("registrations", "the push's registrations"), ("month", "then its month"))
        for figure in (
            (
                f"cluster_{phase}_events_per_s",
                "events/s",
                f"{words} on 3 brokers (replication factor 3, min.insync.replicas 2, acks=all), model, 1 worker",
            ),
            (f"cluster_vs_single_{phase}_ratio", "ratio", "that / the same push on the single broker in this run"),
        )
    ],
    *[(f"peak_rss_{name}_mb", "MB", f"peak RSS of {name} over the whole run") for name in SERVICES],
    ("peak_rss_bench_mb", "MB", "peak RSS of the load generator (this process)"),
]


def git_commit() -> dict[str, Any]:
    """HEAD and whether the work tree has changes."""
    root = RESULTS.parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpu_count": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def document(results: Results, knobs: Knobs, status: str, started: datetime, seconds: float) -> dict[str, Any]:
    """The JSON document: figures (null with a note when missing), context and per-phase details."""
    figures: dict[str, float | None] = {name: results.figures.get(name) for name, _, _ in FIGURES}
    figures.update({k: v for k, v in results.figures.items() if k not in figures})
    for name, value in figures.items():
        if value is None and name not in results.notes:
            results.notes[name] = f"not reached: the run {status}"
    return {
        "schema": 1,
        "status": status,
        "timestamp": started.isoformat(),
        "duration_seconds": round(seconds, 1),
        "git": git_commit(),
        "machine": machine(),
        "knobs": knobs.as_dict(),
        "figures": figures,
        "notes": results.notes,
        "details": results.details,
    }


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _rows(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    units = {name: (unit, how) for name, unit, how in FIGURES}
    rows = []
    for name, value in doc["figures"].items():
        unit, how = units.get(name, ("", ""))
        note = doc["notes"].get(name)
        rows.append((name, _shown(value), unit, f"{how} — {note}" if note else how))
    return rows


def markdown(doc: dict[str, Any]) -> str:
    """latest.md: the table and the context it was measured in."""
    git, host = doc["git"], doc["machine"]
    lines = [
        "# Shouwang benchmark",
        "",
        f"{doc['timestamp']} · status **{doc['status']}** · {doc['duration_seconds']} s · commit "
        f"`{(git['commit'] or '?')[:12]}`{' (dirty)' if git['dirty'] else ''} · {host['cpu_count']} CPUs, "
        f"{host['memory_gb']} GB · Python {host['python']} · preset `{doc['knobs']['preset']}`",
        "",
        *([f"**Note:** {doc['notes']['machine']}", ""] if "machine" in doc["notes"] else []),
        "| figure | value | unit | how |",
        "|---|--:|---|---|",
        *[f"| {name} | {value} | {unit} | {how} |" for name, value, unit, how in _rows(doc)],
        "",
        "Knobs: " + ", ".join(f"`{k}={v}`" for k, v in doc["knobs"].items()),
        "",
        "Per-run details are in `latest.json` (`details`).",
        "",
    ]
    return "\n".join(lines)


def table(doc: dict[str, Any]) -> Table:
    """The figures as a rich table."""
    view = Table(title=f"Shouwang bench ({doc['status']}, preset {doc['knobs']['preset']})")
    view.add_column("figure")
    view.add_column("value", justify="right")
    view.add_column("unit")
    view.add_column("how", overflow="fold")
    for row in _rows(doc):
        view.add_row(*row)
    return view


def write(doc: dict[str, Any], folder: Path = RESULTS) -> tuple[Path, Path]:
    """Write latest.json and latest.md; print the table."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "latest.json", folder / "latest.md"
    json_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(doc))
    Console(width=160).print(table(doc))
    return json_path, md_path


def now() -> datetime:
    """The run's start time, UTC."""
    return datetime.now(UTC)
