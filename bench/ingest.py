"""Ingest throughput: single-event POSTs, 1,000-event batches, and the Kafka route (events.inbound)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiokafka import AIOKafkaProducer

from bench import clients, events
from bench.config import Knobs
from bench.rawhttp import RawConnection
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import median, rounded
from bench.usage import CpuWindow
from services.common import topics
from services.common.kafka_auth import client_options
from tests.infra import Stack

_HOUSEHOLDS_PER_RUN = 50_000  # the generator's pool; a run's events cycle through their months
_UNBOUNDED = 10**9
_BATCH_RATE_CAP = 40_000  # events/s the batch run's pre-encoded bodies last for (twice what ingest reaches here)


def _stream(tag: str) -> Iterator[dict[str, Any]]:
    return events.county(tag, _HOUSEHOLDS_PER_RUN, _UNBOUNDED)


def _take(source: Iterator[dict[str, Any]], knobs: Knobs) -> list[dict[str, Any]]:
    return [next(source) for _ in range(knobs.inbound_events)]


async def single_run(stack: Stack, knobs: Knobs, source: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """`ingest_concurrency` connections POST one structured event at a time for `ingest_seconds`.

    Uses a bare HTTP/1.1 client: httpx spends milliseconds of CPU per request, enough to be the bottleneck.
    """
    counts = {"accepted": 0, "other": 0}
    headers = {"authorization": f"Bearer {stack.ingest_key}", **clients.STRUCTURED}

    async def worker(deadline: float) -> None:
        connection = RawConnection(stack.ingest_url, headers)
        try:
            while time.monotonic() < deadline:
                try:
                    status, _ = await connection.request("POST", "/events", json.dumps(next(source)).encode())
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    status = 0  # the connection broke: count it, reconnect after a pause
                    await connection.close()
                    await asyncio.sleep(0.1)
                counts["accepted" if status == 202 else "other"] += 1
        finally:
            await connection.close()

    start = time.monotonic()
    await asyncio.gather(*(worker(start + knobs.ingest_seconds) for _ in range(knobs.ingest_concurrency)))
    elapsed = time.monotonic() - start
    return {**counts, "seconds": round(elapsed, 2), "events_per_s": round(counts["accepted"] / elapsed, 1)}


def _batch_bodies(knobs: Knobs, tag: str) -> Iterator[bytes]:
    """Batch bodies for up to _BATCH_RATE_CAP events/s over `ingest_seconds`, encoded before the clock starts."""
    source = _stream(tag)
    count = max(1, knobs.ingest_seconds * _BATCH_RATE_CAP // knobs.batch_size)
    return iter([json.dumps([next(source) for _ in range(knobs.batch_size)]).encode() for _ in range(count)])


async def batch_run(stack: Stack, knobs: Knobs, bodies: Iterator[bytes]) -> dict[str, Any]:
    """`batch_clients` connections POST batches of `batch_size` events for `ingest_seconds` (or until `bodies` end).

    The bodies are made first and sent by the bare HTTP/1.1 client: generating events and httpx cost the bench
    ~25 µs of CPU an event on the cores ingest needs (a department's system sends from its own machine).
    """
    counts = {"accepted": 0, "other": 0}
    headers = {"authorization": f"Bearer {stack.ingest_key}", **clients.BATCH}

    async def worker(deadline: float) -> None:
        connection = RawConnection(stack.ingest_url, headers)
        try:
            while time.monotonic() < deadline and (body := next(bodies, None)) is not None:
                status, answer = await connection.request("POST", "/events", body)
                if status != 207:
                    raise RuntimeError(f"ingest answered a batch with {status}: {answer[:300]!r}")
                outcome = json.loads(answer)
                counts["accepted"] += outcome["accepted"]
                counts["other"] += outcome["duplicate"] + outcome["rejected"]
        finally:
            await connection.close()

    start = time.monotonic()
    await asyncio.gather(*(worker(start + knobs.ingest_seconds) for _ in range(knobs.batch_clients)))
    elapsed = time.monotonic() - start
    return {**counts, "seconds": round(elapsed, 2), "events_per_s": round(counts["accepted"] / elapsed, 1)}


def _inbound_messages(knobs: Knobs, tag: str) -> list[tuple[bytes, bytes]]:
    """`inbound_events` keyed messages for events.inbound, encoded before the clock starts."""
    events = _take(_stream(tag), knobs)
    return [(event["data"]["household_id"].encode(), json.dumps(event).encode()) for event in events]


async def inbound_run(stack: Stack, knobs: Knobs, messages: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """Produce `inbound_events` to events.inbound; time until ingest counts them all as accepted."""
    async with clients.ingest_client(stack, 2) as client:
        before = await clients.ingest_outcomes(client, "kafka")
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.bootstrap,
            **client_options(),
            linger_ms=10,
            max_batch_size=512 * 1024,
            client_id="bench-inbound",
        )
        await producer.start()
        start = time.monotonic()
        try:
            for key, value in messages:
                await producer.send(topics.INBOUND, value, key=key)
            await producer.flush()
        finally:
            await producer.stop()
        produced = time.monotonic() - start
        deadline = start + knobs.drain_seconds
        done: dict[str, float] = {}
        while time.monotonic() < deadline:
            now = await clients.ingest_outcomes(client, "kafka")
            done = {k: now.get(k, 0) - before.get(k, 0) for k in ("accepted", "duplicate", "rejected")}
            if sum(done.values()) >= len(messages):
                break
            await asyncio.sleep(0.1)
        elapsed = time.monotonic() - start
    finished = sum(done.values()) >= len(messages)
    return {
        **{k: int(v) for k, v in done.items()},
        "produce_seconds": round(produced, 2),
        "seconds": round(elapsed, 2),
        "complete": finished,
        "events_per_s": round(done.get("accepted", 0) / elapsed, 1) if finished else None,
    }


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """All three ingest figures, each the median of `runs` runs, with the cores each process kept busy."""
    kinds: list[tuple[str, str, Callable[[Knobs, str], Any], Callable[[Stack, Knobs, Any], Awaitable[dict[str, Any]]]]]
    kinds = [
        ("ingest_single_events_per_s", "single", lambda _, tag: _stream(tag), single_run),
        ("ingest_batch_events_per_s", "batch", _batch_bodies, batch_run),
        ("kafka_inbound_events_per_s", "inbound", _inbound_messages, inbound_run),
    ]
    for name, short, prepare, run in kinds:
        runs = []
        for index in range(knobs.runs):
            prepared = prepare(knobs, f"{short}{index}x")  # the load is made before the clock and the CPU window
            window = CpuWindow(bench.usage)
            outcome = await run(bench.services, knobs, prepared)
            outcome["cpu_cores"] = window.cores()
            say(f"{name} run {index + 1}/{knobs.runs}: {outcome}")
            runs.append(outcome)
        results.details[name] = runs
        rates = [r["events_per_s"] for r in runs if r["events_per_s"] is not None]
        problems = [r for r in runs if r.get("other") or r.get("rejected") or r.get("duplicate")]
        note = f"{len(problems)} run(s) had events not accepted: see details" if problems else None
        if len(rates) < len(runs):
            note = f"{len(runs) - len(rates)} run(s) did not finish within BENCH_DRAIN_SECONDS"
        results.put(name, rounded(median(rates)), note)
