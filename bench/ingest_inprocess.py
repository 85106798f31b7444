"""Ingest's batch path in one process: 1,000-event batches through the ASGI app, real Kafka and Redis.

    .venv/bin/python -m bench.ingest_inprocess [--events 100000] [--clients 4] [--profile out.prof]

Starts its own broker and redis-server on free ports unless BENCH_KAFKA and BENCH_REDIS name running ones.
Prints accepted events per second of wall time and of the process's CPU time (client included: bodies are
encoded before the clock starts, answers only counted).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvloop

from bench import events
from services.common.settings import IngestSettings
from services.ingest.app import create_app
from tests import infra

KEY = "bench-key"


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


async def _run(bootstrap: str, redis_url: str, total: int, clients: int, batch: int, profile: str | None) -> None:
    settings = IngestSettings(
        kafka_bootstrap_servers=bootstrap,
        redis_url=redis_url,
        ingest_api_keys=f"{KEY}=/",
        pseudonym_key="bench-pseudonym-key",  # type: ignore[arg-type]
        import_dir=Path(tempfile.mkdtemp(prefix="shouwang-ingest-imports-")),
        log_level="WARNING",
    )
    app = create_app(settings)
    tag = f"b{int(time.time())}x"
    source = events.county(tag, 50_000, total + 3 * batch)
    warmup = [json.dumps([next(source) for _ in range(batch)]).encode() for _ in range(2)]
    bodies = [json.dumps([next(source) for _ in range(batch)]).encode() for _ in range(total // batch)]
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/cloudevents-batch+json"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", headers=headers) as client:
            for body in warmup:
                (await client.post("/events", content=body)).raise_for_status()
            queue = list(reversed(bodies))
            counts = {"accepted": 0, "other": 0}

            async def worker() -> None:
                while queue:
                    answer = (await client.post("/events", content=queue.pop())).json()
                    counts["accepted"] += answer["accepted"]
                    counts["other"] += answer["duplicate"] + answer["rejected"]

            profiler = cProfile.Profile() if profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            await asyncio.gather(*(worker() for _ in range(clients)))
            if profiler and profile:
                profiler.disable()
                profiler.dump_stats(profile)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{counts['accepted']} accepted, {counts['other']} other, {clients} clients x {batch}-event batches: "
        f"{counts['accepted'] / wall:,.0f} events/s wall, {counts['accepted'] / cpu:,.0f} events per CPU second, "
        f"{cpu / max(counts['accepted'], 1) * 1e6:.1f} us CPU per event"
    )


def main() -> None:
    """Parse arguments, start (or reuse) Kafka and Redis, run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--profile", help="write a cProfile of the timed part here")
    arguments = parser.parse_args()
    with _infrastructure() as (bootstrap, redis_url):
        uvloop.run(_run(bootstrap, redis_url, arguments.events, arguments.clients, arguments.batch, arguments.profile))


if __name__ == "__main__":
    main()
