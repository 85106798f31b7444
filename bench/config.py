"""The benchmark's knobs, read from BENCH_* environment variables (BENCH_FULL=1: the issue's sizes)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

# name: (default, BENCH_FULL=1, --smoke)
_PRESETS: dict[str, tuple[int, int, int]] = {
    "runs": (3, 3, 1),  # repetitions of each ingest figure (the median is reported)
    "ingest_seconds": (10, 10, 2),  # length of one HTTP ingest run
    "ingest_concurrency": (32, 32, 8),  # concurrent single-event clients
    "batch_clients": (4, 4, 2),  # concurrent batch clients
    "batch_size": (1000, 1000, 200),
    "inbound_events": (20_000, 100_000, 500),  # events produced to events.inbound per run
    "import_rows": (100_000, 1_000_000, 2_000),  # rows of the department CSV imported in the import phase
    "events": (100_000, 1_000_000, 2_000),  # canonical events preloaded for scoring (~2 min at ~800/s)
    "scaleout_events": (30_000, 300_000, 1_000),  # canonical events each of the 1, 2 and 4 worker runs goes through
    "households": (10_000, 100_000, 200),
    "push_households": (200_000, 200_000, 1_000),  # the county of the push phase (registrations, then a month)
    "state_households": (1_000_000, 1_000_000, 2_000),  # household states a scoring worker recovers (the 1 GB bar)
    "failover_households": (1_000_000, 1_000_000, 2_000),  # households two workers with standbys hold (failover)
    "seconds": (30, 30, 3),  # e2e latency run at `e2e_rate` offered
    "e2e_rate": (1000, 1000, 100),  # events/s offered in the latency run
    "e2e_sample": (50, 50, 5),  # poll the API for every n-th household of a latency run
    "e2e_seconds": (60, 300, 3),  # sustained e2e run
    "e2e_backlog": (2000, 2000, 200),  # events in flight allowed in the sustained run
    "alerts": (10_000, 100_000, 200),  # alerts loaded before the API run
    "townships": (50, 50, 5),
    "api_seconds": (20, 20, 2),
    "api_clients": (50, 50, 8),
    "crowd_streams": (500, 500, 20),  # live streams open during the crowd run of GET /alerts
    "crowd_exports": (20, 20, 2),  # clients exporting ledgers in a loop meanwhile
    "drain_seconds": (120, 600, 30),  # longest wait for the pipeline to catch up after a run
    # Redis's maxmemory in MB: the push phase keeps three counties of 200,000 households (~2 KB each) side by side
    "redis_maxmemory_mb": (4096, 4096, 1024),
}


@dataclass(frozen=True)
class Knobs:
    """Sizes and durations of every run; each field is overridden by BENCH_<NAME> (upper case)."""

    runs: int
    ingest_seconds: int
    ingest_concurrency: int
    batch_clients: int
    batch_size: int
    inbound_events: int
    import_rows: int
    events: int
    scaleout_events: int
    households: int
    push_households: int
    state_households: int
    failover_households: int
    seconds: int
    e2e_rate: int
    e2e_sample: int
    e2e_seconds: int
    e2e_backlog: int
    alerts: int
    townships: int
    api_seconds: int
    api_clients: int
    crowd_streams: int
    crowd_exports: int
    drain_seconds: int
    redis_maxmemory_mb: int
    preset: str = "default"

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the results."""
        return asdict(self)


def load(smoke: bool = False, environ: dict[str, str] | None = None) -> Knobs:
    """Knobs from the preset (default, BENCH_FULL=1 or --smoke) and BENCH_* overrides."""
    env = dict(os.environ if environ is None else environ)
    preset = "smoke" if smoke else "full" if env.get("BENCH_FULL", "0") not in ("", "0") else "default"
    column = {"default": 0, "full": 1, "smoke": 2}[preset]
    values: dict[str, Any] = {"preset": preset}
    for field in fields(Knobs):
        if field.name == "preset":
            continue
        raw = env.get(f"BENCH_{field.name.upper()}")
        values[field.name] = int(raw) if raw else _PRESETS[field.name][column]
        if values[field.name] < 1:
            raise SystemExit(f"BENCH_{field.name.upper()} must be ≥ 1")
    return Knobs(**values)
