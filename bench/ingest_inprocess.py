"""Ingest's batch path alone: 1,000-event batches from concurrent clients, on a real Kafka broker and Redis.

    .venv/bin/python -m bench.ingest_inprocess [--events 100000] [--clients 4] [--profile out.prof]
    .venv/bin/python -m bench.ingest_inprocess --server      # ingest as its own uvicorn process

In-process, the batches go through the ASGI app (no HTTP server) and the CPU is this process's (clients
included); with --server, ingest runs as `python -m services.ingest` and the CPU is that process's alone.
Starts its own broker and redis-server on free ports unless BENCH_KAFKA and BENCH_REDIS name running ones.
Bodies are encoded before the clock starts; answers are only counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import httpx
import psutil
import typer
import uvloop

from bench import events
from bench.command import exit_with
from services.common.settings import IngestSettings
from services.ingest.app import create_app
from tests import infra

KEY = "bench-key"
HEADERS = {"authorization": f"Bearer {KEY}", "content-type": "application/cloudevents-batch+json"}


@contextlib.contextmanager
def _infrastructure() -> Iterator[tuple[str, str]]:
    if os.environ.get("BENCH_KAFKA") and os.environ.get("BENCH_REDIS"):
        yield os.environ["BENCH_KAFKA"], os.environ["BENCH_REDIS"]
        return
    workdir = Path(tempfile.mkdtemp(prefix="shouwang-ingest-bench-"))
    kafka, bootstrap = infra.start_kafka(workdir / "kafka")
    redis, redis_url = infra.start_redis(workdir / "redis")
    try:
        yield bootstrap, redis_url
    finally:
        kafka.stop()
        redis.stop()


def _bodies(total: int, batch: int) -> list[bytes]:
    """Two warm-up batches, then `total` events of a county: registrations first, then monthly incomes."""
    source = events.county(f"b{int(time.time())}x", 50_000, total + 3 * batch)
    return [json.dumps([next(source) for _ in range(batch)]).encode() for _ in range(total // batch + 2)]


async def _push(client: httpx.AsyncClient, bodies: list[bytes], clients: int, cpu: Callable[[], float]) -> str:
    """Send the warm-up batches, then the rest from `clients` concurrent clients; the figures as a line."""
    for body in bodies[:2]:
        (await client.post("/events", content=body)).raise_for_status()
    queue = list(reversed(bodies[2:]))
    counts = {"accepted": 0, "other": 0}

    async def worker() -> None:
        while queue:
            answer = (await client.post("/events", content=queue.pop())).json()
            counts["accepted"] += answer["accepted"]
            counts["other"] += answer["duplicate"] + answer["rejected"]

    used, wall = cpu(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    used, wall = cpu() - used, time.perf_counter() - wall
    accepted = max(counts["accepted"], 1)
    return (
        f"{counts['accepted']} accepted, {counts['other']} other, {clients} clients: {accepted / wall:,.0f} events/s "
        f"wall, {accepted / used:,.0f} events per CPU second, {used / accepted * 1e6:.1f} us CPU per event"
    )


async def _in_process(bootstrap: str, redis_url: str, bodies: list[bytes], clients: int, profile: str | None) -> str:
    settings = IngestSettings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,
        ingest_api_keys=f"{KEY}=/",
        pseudonym_key="bench-pseudonym-key",  # type: ignore[arg-type]
        import_dir=Path(tempfile.mkdtemp(prefix="shouwang-ingest-imports-")),
        log_level="WARNING",
    )
    app = create_app(settings)
    profiler = cProfile.Profile()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", headers=HEADERS) as client:
            if profile:
                profiler.enable()
            line = await _push(client, bodies, clients, time.process_time)
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    return line


async def _server(bootstrap: str, redis_url: str, bodies: list[bytes], clients: int) -> str:
    stack = infra.make_stack(bootstrap, redis_url, Path(tempfile.mkdtemp(prefix="shouwang-ingest-bench-")))
    stack.env.update({"INGEST_API_KEYS": f"{KEY}=/", "LOG_LEVEL": "WARNING"})
    ingest = psutil.Process(stack.start("ingest").popen.pid)

    def cpu() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in [ingest, *ingest.children(recursive=True)])

    try:
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=stack.ingest_url, headers=HEADERS, limits=limits, timeout=120) as client:
            return await _push(client, bodies, clients, cpu)
    finally:
        stack.stop_all()


def main(
    events: int = 100_000,
    clients: int = 4,
    batch: int = 1000,
    server: Annotated[bool, typer.Option("--server", help="ingest as its own process (its CPU alone)")] = False,
    profile: Annotated[str | None, typer.Option(help="in-process: write a cProfile of the timed part here")] = None,
) -> None:
    """Start (or reuse) Kafka and Redis, push the batches, print the figures."""
    bodies = _bodies(events, batch)
    with _infrastructure() as (bootstrap, redis_url):
        if server:
            line = uvloop.run(_server(bootstrap, redis_url, bodies, clients))
        else:
            line = uvloop.run(_in_process(bootstrap, redis_url, bodies, clients, profile))
    print(("ingest process: " if server else "in-process: ") + line)


if __name__ == "__main__":
    exit_with(main)
