"""Scoring's memory for household state: a worker recovering N households' states from the table's changelog.

Scoring keeps one state per household in a faust table (in memory, backed by a compacted changelog). Running
a million households' events through scoring would take hours on this machine, so the phase writes the states
scoring would have written (a registration and 14 months of wage income each, encoded as scoring encodes
them) straight to a fresh app's changelog, starts a worker of that app, and reads its RSS once it has
recovered them, against a worker of an app with no state.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from kafka.admin import NewTopic

from bench import clients, models, scoring
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import rounded
from bench.usage import MB, tree_rss
from services.common import topics
from services.common.kafka_auth import client_options
from services.scoring.state import HouseholdState, MonthlyIncome, Profile, encode_state

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
SETTLE_SECONDS = 3.0  # after Ready, for the worker's memory to settle before it is read
ONE_MILLION = 1_000_000


def household_state(n: int, townships: int, rng: random.Random) -> HouseholdState:
    """Household n as scoring keeps it after its registration and 14 monthly wage reports, all scored."""
    source = f"/civil-affairs/{532300 + n % townships}"
    registered = datetime(2024, 1, 5, tzinfo=UTC) + timedelta(minutes=n % 50_000)
    incomes = {
        f"{month}|wage": MonthlyIncome(
            amount=float(rng.randrange(300, 6000)),
            reported_at=datetime.fromisoformat(f"{month}-28T10:00:00+08:00") + timedelta(seconds=n % 3600),
            event_key=f"{source}#evt-{n * 15 + i + 1}",
        )
        for i, month in enumerate(MONTHS)
    }
    profile = Profile(
        region_code=f"{532300 + n % townships}{101 + n % 7:03d}{1 + n % 20:03d}",
        members=1 + n % 6,
        labourers=n % 3,
        category=("poverty_exited", "ordinary", "monitored")[n % 3],
        annual_net_income=float(rng.randrange(5000, 60000)),
        registered_at=registered,
        event_key=f"{source}#evt-{n * 15}",
    )
    level = ("green", "yellow", "red")[n % 3]
    return HouseholdState(
        profile=profile,
        incomes=incomes,
        last_fingerprint=f"{level}||{rng.randrange(3000, 60000)}.00|{profile.members}|8700.0|0.00|None",
        latest_month=MONTHS[-1],
    )


def changelog_records(count: int, townships: int) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) of `count` households' states, keyed as faust keys the households table."""
    rng = random.Random(7)
    for n in range(count):
        yield json.dumps(f"SM{n:07d}").encode(), encode_state(household_state(n, townships, rng))


async def write_changelog(bench: BenchStack, topic: str, records: Iterator[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Write the records to `topic`, each to the partition its household's events are on (murmur2 of the id)."""
    admin = clients.admin(bench.services)
    try:
        partitions = len(clients.partitions(admin, topics.CANONICAL))
        admin.create_topics([NewTopic(topic, partitions, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        admin.close()
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.services.bootstrap,
        **client_options(),
        linger_ms=20,
        max_batch_size=1024 * 1024,
        client_id="bench-state",
    )
    partitioner, every = DefaultPartitioner(), list(range(partitions))
    await producer.start()
    start, count, stored = time.monotonic(), 0, 0
    try:
        for key, value in records:
            household = json.loads(key).encode()
            await producer.send(topic, value, key=key, partition=partitioner(household, every, every))
            count, stored = count + 1, stored + len(value)
        await producer.flush()
    finally:
        await producer.stop()
    return {"households": count, "bytes": stored, "seconds": round(time.monotonic() - start, 1)}


async def recovered_worker(bench: BenchStack, app_id: str, data_dir: Path) -> tuple[float, float]:
    """Start a worker of `app_id` (canonical read from its end), wait until Ready; its (RSS MB, seconds to Ready)."""
    admin = clients.admin(bench.services)
    try:
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))
    finally:
        admin.close()
    name = "scoring-state"
    data_dir.mkdir(parents=True, exist_ok=True)
    offset, spawned = bench.log_offset(name), time.monotonic()
    process = bench.start_instance(name, "scoring", SCORING_APP_ID=app_id, SCORING_DATA_DIR=str(data_dir))
    try:
        ready = await bench.wait_for_log(name, scoring.WORKER_READY, offset, 1800)
        await asyncio.sleep(SETTLE_SECONDS)
        return tree_rss(process.popen.pid) / MB, ready - spawned
    finally:
        bench.stop(name)


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """state_* figures: bytes stored per household, a worker's RSS with N households and without, per household."""
    stamp, folder = int(time.time()), Path(bench.services.env["SCORING_DATA_DIR"])
    models.ensure_trained(bench)
    models.activate(bench)  # the workers below hold the model too, as a worker in service does
    empty_rss, empty_seconds = await recovered_worker(bench, f"bench-state-empty-{stamp}", folder / "state-empty")
    say(f"state: a worker with no households: {empty_rss:.0f} MB after {empty_seconds:.1f}s")
    app_id = f"bench-state-{stamp}"
    written = await write_changelog(
        bench, f"{app_id}-households-changelog", changelog_records(knobs.state_households, knobs.townships)
    )
    say(f"state: wrote {written}")
    rss, seconds = await recovered_worker(bench, app_id, folder / "state-full")
    households = written["households"]
    per_household = (rss - empty_rss) * MB / households
    say(f"state: {households} households recovered in {seconds:.1f}s: {rss:.0f} MB, {per_household:.0f} B each")
    results.put("state_bytes_per_household", rounded(written["bytes"] / households))
    results.put("state_worker_rss_mb", rounded(rss))
    results.put("state_rss_per_household_bytes", rounded(per_household))
    results.put("state_1m_households_rss_mb", rounded(empty_rss + per_household * ONE_MILLION / MB))
    recovery = max(0.0, seconds - empty_seconds)  # the empty worker's start-up is not recovery
    results.put("state_recovery_seconds_per_1m", rounded(recovery * ONE_MILLION / households))
    say(f"state: cold recovery {recovery * ONE_MILLION / households:.1f}s per 1,000,000 households (issue 31: 85 s)")
    results.details["state"] = {
        "households": households,
        "changelog_written": written,
        "empty_worker_rss_mb": round(empty_rss, 1),
        "empty_worker_ready_seconds": round(empty_seconds, 1),
        "recovery_to_ready_seconds": round(seconds, 1),
        "one_million": "measured when households = 1,000,000 (BENCH_FULL=1), else projected linearly",
    }
