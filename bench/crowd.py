"""A county's staff at once: GET /alerts while BENCH_CROWD_STREAMS live streams are open and BENCH_CROWD_EXPORTS
clients export ledgers in a loop (issue 13 item 3: p99 next to the figure with neither).

The streams and the exporters are the other staff's browsers: they run in a process of their own, so that the
measuring clients' event loop does not also carry 500 connections and the exported bytes (it would time its own
queueing, not the API's answers).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import httpx

from bench.api import BOARD, Query, list_run, log_in, township
from bench.config import Knobs
from bench.stack import BenchStack
from bench.usage import CpuWindow


async def _stream(client: httpx.AsyncClient, headers: dict[str, str], opened: list[int], changes: list[int]) -> None:
    async with client.stream("GET", "/alerts/stream", headers=headers) as response:
        if response.status_code != 200:
            return
        opened.append(1)
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                changes.append(1)


async def _exporter(
    client: httpx.AsyncClient, headers: dict[str, str], town: str, stopped: asyncio.Event, codes: Counter[str]
) -> None:
    while not stopped.is_set():
        try:
            response = await client.get("/ledger.csv", params={"township": town}, headers=headers)
            codes[str(response.status_code)] += 1
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        except httpx.HTTPError as exc:
            codes[type(exc).__name__] += 1


async def _crowd(api_url: str, headers: dict[str, str], towns: list[str], streams: int, pipe: Connection) -> None:
    opened: list[int] = []
    changes: list[int] = []
    codes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=streams + len(towns) + 10)
    timeout = httpx.Timeout(60, read=None)
    async with httpx.AsyncClient(base_url=api_url, timeout=timeout, limits=limits) as client:
        streaming = [asyncio.create_task(_stream(client, headers, opened, changes)) for _ in range(streams)]
        deadline = time.monotonic() + 60
        while len(opened) < streams and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        pipe.send(len(opened))
        await asyncio.to_thread(pipe.recv)  # go
        stopped = asyncio.Event()
        exporters = [asyncio.create_task(_exporter(client, headers, town, stopped, codes)) for town in towns]
        await asyncio.to_thread(pipe.recv)  # stop
        stopped.set()
        await asyncio.gather(*exporters)
        for task in streaming:
            task.cancel()
        await asyncio.gather(*streaming, return_exceptions=True)
    pipe.send({"streams_open": len(opened), "stream_changes": len(changes), "exports": dict(codes)})


def _crowd_process(api_url: str, headers: dict[str, str], towns: list[str], streams: int, pipe: Connection) -> None:
    asyncio.run(_crowd(api_url, headers, towns, streams, pipe))


async def _receive(pipe: Connection, seconds: float) -> Any:
    if not await asyncio.to_thread(pipe.poll, seconds):
        raise TimeoutError(f"the crowd process did not answer within {seconds} s")
    return pipe.recv()


async def crowd_run(bench: BenchStack, knobs: Knobs, wanted: list[Query], seconds: float) -> dict[str, Any]:
    """The GET /alerts run of `list_run` with the streams open and the exporters exporting meanwhile (the crowd's
    process is watched as `crowd`)."""
    stack = bench.services
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
        headers = (await log_in(api, stack, [BOARD]))[BOARD.username]
    towns = [township(n, knobs) for n in range(knobs.crowd_exports)]
    context = multiprocessing.get_context("spawn")
    pipe, theirs = context.Pipe()
    crowd = context.Process(target=_crowd_process, args=(stack.api_url, headers, towns, knobs.crowd_streams, theirs))
    crowd.start()
    bench.usage.watch("crowd", crowd.pid or 0)
    try:
        await _receive(pipe, 120)  # the streams are open
        pipe.send("go")
        window = CpuWindow(bench.usage)
        run = await list_run(stack, wanted, seconds)
        run["cpu_cores"] = window.cores()
        pipe.send("stop")
        outcome: dict[str, Any] = await _receive(pipe, 120)
    finally:
        crowd.join(timeout=10)
        if crowd.is_alive():
            crowd.kill()
    return {**outcome, "api": run}


async def alternated_runs(
    bench: BenchStack, knobs: Knobs, wanted: list[Query], say: Callable[[str], None]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """BENCH_RUNS runs of GET /alerts alone, each followed by one in the crowd: a drift of the machine falls on both
    alike, and the report compares medians (one 20-second p99 varies by a third from run to run)."""
    alone: list[dict[str, Any]] = []
    crowds: list[dict[str, Any]] = []
    for n in range(knobs.runs):
        window = CpuWindow(bench.usage)
        run = await list_run(bench.services, wanted, knobs.api_seconds)
        alone.append({**run, "cpu_cores": window.cores()})
        say(f"GET /alerts, run {n + 1}: p50 {run['p50_ms']} ms, p99 {run['p99_ms']} ms, {run['requests_per_s']}/s")
        crowd = await crowd_run(bench, knobs, wanted, knobs.api_seconds)
        crowds.append(crowd)
        say(f"GET /alerts in a crowd, run {n + 1}: p99 {crowd['api']['p99_ms']} ms, exports {crowd['exports']}")
    return alone, crowds
