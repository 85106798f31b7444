"""A county's staff at once: GET /alerts while BENCH_CROWD_STREAMS live streams are open and BENCH_CROWD_EXPORTS
clients export ledgers in a loop (issue 13 item 3: p99 next to the figure with neither)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from bench.api import BOARD, Query, list_run, log_in, township
from bench.config import Knobs
from tests.infra import Stack


async def _stream(client: httpx.AsyncClient, headers: dict[str, str], opened: list[int], changes: list[int]) -> None:
    async with client.stream("GET", "/alerts/stream", headers=headers) as response:
        if response.status_code != 200:
            return
        opened.append(1)
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                changes.append(1)


async def _exporter(
    client: httpx.AsyncClient, headers: dict[str, str], town: str, until: float, codes: Counter[str]
) -> None:
    while time.monotonic() < until:
        try:
            response = await client.get("/ledger.csv", params={"township": town}, headers=headers)
            codes[str(response.status_code)] += 1
            if response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        except httpx.HTTPError as exc:
            codes[type(exc).__name__] += 1


async def crowd_run(stack: Stack, knobs: Knobs, wanted: list[Query], seconds: float) -> dict[str, Any]:
    """The GET /alerts run of `list_run` with the streams open and the exporters exporting meanwhile."""
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as api:
        headers = (await log_in(api, stack, [BOARD]))[BOARD.username]
    opened: list[int] = []
    changes: list[int] = []
    codes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=knobs.crowd_streams + knobs.crowd_exports + 10)
    timeout = httpx.Timeout(60, read=None)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=timeout, limits=limits) as client:
        streams = [asyncio.create_task(_stream(client, headers, opened, changes)) for _ in range(knobs.crowd_streams)]
        deadline = time.monotonic() + 60
        while len(opened) < knobs.crowd_streams and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        until = time.monotonic() + seconds
        exporters = [
            asyncio.create_task(_exporter(client, headers, township(n, knobs), until, codes))
            for n in range(knobs.crowd_exports)
        ]
        try:
            run = await list_run(stack, wanted, seconds)
            await asyncio.gather(*exporters)
        finally:
            for task in [*streams, *exporters]:
                task.cancel()
            await asyncio.gather(*streams, *exporters, return_exceptions=True)
    return {"streams_open": len(opened), "stream_changes": len(changes), "exports": dict(codes), "api": run}
