"""Scoring throughput: one faust worker through a preloaded events.canonical, against a bare consumer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from bench import clients, events, floor, models
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import ratio, rounded
from bench.usage import CpuWindow
from services.common import topics
from services.common.kafka_auth import client_options
from services.ingest.validation import validate_event
from tests.infra import Stack, free_port

WORKER_READY = "[^Worker]: Ready"  # faust's log line once the worker has its partitions
Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers of one canonical message


def canonical_records(stack: Stack, knobs: Knobs) -> Iterator[Record]:
    """`events` validated canonical events over `households` households, as ingest writes them."""
    key = stack.env["PSEUDONYM_KEY"].encode()
    for raw in events.county("S", knobs.households, knobs.events, knobs.townships):
        event = validate_event(raw, key)
        headers = [("ce_id", event.id.encode()), ("ce_source", event.source.encode())]
        yield event.household_id.encode(), event.to_json(), headers


async def produce(stack: Stack, records: Iterable[Record]) -> dict[str, Any]:
    """Put records on events.canonical keyed by household, as fast as the broker takes them."""
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.bootstrap,
        **client_options(),
        linger_ms=20,
        max_batch_size=1024 * 1024,
        client_id="bench-preload",
    )
    await producer.start()
    start, count = time.monotonic(), 0
    try:
        for key, value, headers in records:
            await producer.send(topics.CANONICAL, value, key=key, headers=headers)
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    seconds = time.monotonic() - start
    return {"events": count, "seconds": round(seconds, 1), "events_per_s": round(count / seconds, 1)}


async def preload(stack: Stack, knobs: Knobs) -> dict[str, Any]:
    """Produce `events` validated canonical events over `households` households, keyed by household."""
    return await produce(stack, canonical_records(stack, knobs))


@dataclass
class Progress:
    """Samples of (time, events committed, messages written) while the worker runs."""

    written_before: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def finished_writing(self) -> float:
        """When the worker wrote its last message (score or table changelog): the end of its work."""
        final = self.samples[-1][2]
        return next(t for t, _, written in self.samples if written == final)

    def written(self) -> int:
        """Messages written during the run."""
        return self.samples[-1][2] - self.written_before


def _written(admin: KafkaAdminClient, group: str) -> int:
    total = sum(clients.end_offsets(admin, topics.SCORES).values())
    with contextlib.suppress(KafkaError, ValueError):  # the changelog topic appears when the worker starts
        total += sum(clients.end_offsets(admin, f"{group}-households-changelog").values())
    return total


async def wait_consumed(
    bench: BenchStack,
    group: str,
    offsets: tuple[dict[TopicPartition, int], dict[TopicPartition, int]],
    progress: Progress,
    seconds: float,
) -> float:
    """Poll until the group's committed offsets reach the end of (start, end), recording progress."""
    start, end = offsets
    admin = clients.admin(bench.services)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            done = clients.committed(admin, group, list(end))
            written, now = _written(admin, group), time.monotonic()
            progress.samples.append((now, sum(max(done[tp], start[tp]) - start[tp] for tp in end), written))
            if all(done[tp] >= end[tp] for tp in end):
                return now
            bench.check_alive("scoring")
            await asyncio.sleep(0.5)
    finally:
        admin.close()
    raise TimeoutError(f"scoring had not consumed events.canonical within {seconds:.0f}s")


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """scoring_events_per_s with the bench model active, the floors (bare consumer, bare faust), the model's cost."""
    stack, admin = bench.services, clients.admin(bench.services)
    trained = models.ensure_trained(bench)
    models.activate(bench)
    say(f"scoring: model {trained['version']} active ({trained})")
    try:
        start = clients.end_offsets(admin, topics.CANONICAL)
        loaded = await preload(stack, knobs)
        say(f"preloaded events.canonical: {loaded}")
        end = clients.end_offsets(admin, topics.CANONICAL)
        scores_before = sum(clients.end_offsets(admin, topics.SCORES).values())
        group = f"bench-scoring-{int(time.time())}"
        clients.position_group(admin, group, start)  # a fresh app id, starting where the preload starts
    finally:
        admin.close()
    total = sum(end[tp] - start[tp] for tp in end)
    bench.usage.mark()
    metrics_port = free_port()
    offset, spawned = bench.log_offset("scoring"), time.monotonic()
    bench.stop("scoring")
    bench.start_instance("scoring", "scoring", SCORING_APP_ID=group, SCORING_METRICS_PORT=str(metrics_port))
    ready = await bench.wait_for_log("scoring", WORKER_READY, offset, 180)
    window = CpuWindow(bench.usage)
    progress = Progress(written_before=scores_before)  # the new app's changelog starts empty
    committed = await wait_consumed(bench, group, (start, end), progress, knobs.drain_seconds + total / 100)
    scoring_cores = window.cores()
    worker = worker_metrics(metrics_port)
    admin = clients.admin(stack)
    try:
        scores = sum(clients.end_offsets(admin, topics.SCORES).values()) - scores_before
    finally:
        admin.close()
    # faust commits every 2.8 s at best, much later on a starved machine: the last message written
    # (every event here changes the household's state, so writes a changelog record) ends the work.
    done = progress.finished_writing() if progress.written() >= total else committed
    bench.stop("scoring")
    rate = total / (done - ready)
    say(f"scoring: {total} events in {done - ready:.1f}s after ready ({rate:.0f}/s); {worker}")
    raw_seconds = await floor.raw_consume(stack, start, end)
    bare_seconds = await floor.bare_faust(bench, start, end)
    raw_rate, bare_rate = total / raw_seconds, total / bare_seconds
    say(f"floors on the same events: bare aiokafka consumer {raw_rate:.0f}/s, bare faust agent {bare_rate:.0f}/s")
    results.put("scoring_events_per_s", rounded(rate))
    results.put("raw_consume_events_per_s", rounded(raw_rate))
    results.put("bare_faust_events_per_s", rounded(bare_rate))
    results.put("scoring_vs_raw_consume_ratio", rounded(ratio(rate, raw_rate), 4))
    results.put("scoring_vs_bare_faust_ratio", rounded(ratio(rate, bare_rate), 4))
    results.put("scoring_model_us_per_event", rounded(worker["model_seconds"] / total * 1e6, 1))
    results.put(
        "scoring_model_us_per_assessment", rounded(worker["model_seconds"] / max(worker["assessed"], 1) * 1e6, 1)
    )
    results.put("scoring_peak_rss_mb", bench.usage.peak_since_mark_mb("scoring"))
    results.details["scoring"] = {
        "app_id": group,
        "model": trained,
        "preload": loaded,
        "events": total,
        "worker_metrics": worker,
        "startup_seconds": round(ready - spawned, 1),
        "consume_seconds": round(done - ready, 1),
        "committed_all_after_seconds": round(committed - ready, 1),
        "events_per_s_by_commits": round(total / (committed - ready), 1),
        "wall_events_per_s_with_startup": round(total / (done - spawned), 1),
        "scores_emitted": scores,
        "messages_written": progress.written(),
        "raw_consume_seconds": round(raw_seconds, 2),
        "bare_faust_seconds": round(bare_seconds, 2),
        "cpu_cores_while_scoring": scoring_cores,
        "progress_seconds_committed_written": [
            (round(t - ready, 1), n, w) for t, n, w in progress.samples[:: max(1, len(progress.samples) // 40)]
        ],
        "finished": "when the last score or changelog record was written (polled every 0.5 s); "
        "all offsets were committed `committed_all_after_seconds` after ready",
    }


def worker_metrics(port: int) -> dict[str, float]:
    """The scoring worker's own counters: households assessed, seconds in the model, batches and their events."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name + "".join(f":{v}" for v in sample.labels.values())] = sample.value
    return {
        "assessed": found.get("shouwang_scoring_assessed_households_total", 0.0),
        "model_seconds": round(found.get("shouwang_scoring_model_seconds_total:active", 0.0), 3),
        "batches": found.get("shouwang_scoring_batch_events_count", 0.0),
        "scores": found.get("shouwang_scoring_scores_total", 0.0),
    }
