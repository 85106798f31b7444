"""Demo county for `make run`: train and activate a first model, then stream a simulated county to ingest."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from datetime import UTC, datetime

from services.analytics import registry
from services.analytics.pipeline import TRAINING_MONTHS, simulated_training_set
from services.analytics.publish import to_ingest
from services.analytics.report import write_report
from services.analytics.selection import Options
from services.analytics.simulator import SimConfig
from services.analytics.training import register, train
from services.analytics.training_runs import TrainRequest
from services.common import topics
from services.common.months import month_shift
from services.common.redis_connections import redis_client
from services.common.settings import (
    REPO_ROOT,
    AlertsSettings,
    DemoSettings,
    IngestSettings,
    ScoringSettings,
)
from services.regions.importer import import_file

COUNTY = "532328"  # Yuanmou county, Yunnan (monitoring line 8,700 in 2025: policy/2025.toml)
SOURCES = tuple(f"/{dept}/{COUNTY}" for dept in ("civil-affairs", "medical-insurance", "emergency-management"))
MONTHS = 24
NAMES = REPO_ROOT / "deploy" / "demo" / f"regions-{COUNTY}.csv"  # its towns; the simulated villages' names invented
log = logging.getLogger("demo")


def demo_county(households: int, seed: int, months: int = MONTHS) -> SimConfig:
    """Households in three townships of Yuanmou county, over the `months` months that ended two months ago.

    A month's incomes are reported up to half a month later: so no event time lies in the future (ingest refuses it).
    """
    start = month_shift(datetime.now(UTC).strftime("%Y-%m"), -months - 2)
    return SimConfig(households=households, seed=seed, months=months, counties=(COUNTY,), townships=3, villages=4,
                     id_prefix="YM", start=start)  # fmt: skip


def demo_key(demo: DemoSettings) -> str | None:
    """DEMO_INGEST_KEY when given, else the first ingest key that may write every demo source and the county."""
    if demo.ingest_key:
        return demo.ingest_key
    grants = IngestSettings().grants()  # type: ignore[call-arg]
    for key, grant in grants.items():
        if all(grant.covers_source(source) for source in SOURCES) and grant.covers_region(COUNTY):
            return key
    return None


def first_model(settings: ScoringSettings, demo: DemoSettings) -> str | None:
    """Train (or reuse) the demo model on another simulated history of the county and activate it."""
    households, seed = demo.train_households, demo.seed
    version = f"demo-{seed}-{households}"
    if not (settings.model_dir / version / "manifest.json").exists():
        started = time.perf_counter()
        config = demo_county(households, seed + 1000, TRAINING_MONTHS)
        request = TrainRequest(households=households, seed=seed + 1000, max_iter=80, workers=2)
        simulated = simulated_training_set(config, workers=request.workers)
        trained = train(simulated.training_set, Options(max_iter=request.max_iter), bootstrap_rounds=100)
        register(trained, settings.model_dir, "demo", version)
        write_report(trained, settings.model_dir / version, f"Demo risk model {version}")
        print(f"demo model {version} trained in {time.perf_counter() - started:.0f} s", flush=True)
    history = registry.activations(settings.kafka_bootstrap_servers)
    current = registry.active(history)
    if current is None or current.version != version:
        registry.activate(settings.kafka_bootstrap_servers, settings.model_dir, version, "demo")
        time.sleep(demo.model_wait)  # scoring workers load it before the events
    return version


async def name_places(redis_url: str) -> str:
    """Import the demo county's township and village names (the console shows names, not codes)."""
    redis = redis_client(redis_url, decode_responses=True)
    try:
        record, _ = await import_file(redis, NAMES, "", "demo")
        return f"{record['changed']} names"
    finally:
        await redis.aclose()


def main() -> None:
    """Activate a model, stream the demo county to ingest, then wait (so the supervisor keeps the others up)."""
    demo = DemoSettings()  # type: ignore[call-arg]  # DEMO_INGEST_URL is required
    url, key = demo.ingest_url, demo_key(demo)
    households, seed = demo.households, demo.seed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if key is None:
        print(
            f"DEMO NOT STREAMED: no key in INGEST_API_KEYS may write the demo county {COUNTY} (sources "
            f"{', '.join(SOURCES)}): add one such as demo-key=/ (or DEMO_INGEST_KEY=...), or start with DEMO=0.",
            file=sys.stderr,
            flush=True,
        )
        signal.pause()
    settings = ScoringSettings()
    topics.await_topics(settings.kafka_bootstrap_servers, [topics.MODEL_ACTIVATIONS], settings)
    print(f"demo county {COUNTY}: {asyncio.run(name_places(AlertsSettings().redis_url))} imported", flush=True)
    try:
        version = first_model(settings, demo)
    except Exception:  # noqa: BLE001 - the demo still streams, scored by the rules alone
        logging.exception("demo model not trained; scoring stays rules-only")
        version = None
    totals = to_ingest(demo_county(households, seed), url, key or "")
    print(f"demo county {COUNTY}: {households} households streamed: {totals}; model {version}", flush=True)
    if totals["rejected"]:
        print(f"DEMO: ingest refused {totals['rejected']} events (see ingest's log for the reasons)", file=sys.stderr)
    signal.pause()


if __name__ == "__main__":
    main()
