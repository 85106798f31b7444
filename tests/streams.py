"""Many live streams (`GET /alerts/stream`) held open from one background event loop, as consoles hold them."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx


class Streams:
    """`count` streams, each keeping the changes it receives; with `resume`, a stream that ends (or cannot connect)
    reconnects with Last-Event-ID, as EventSource does, until closed."""

    def __init__(self, url: str, headers: dict[str, str], count: int, resume: bool = False):
        self.received: list[list[dict[str, Any]]] = [[] for _ in range(count)]
        self.opened = 0
        self.ended = 0
        self._resume = resume
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main(url, headers, count)), daemon=True)
        self._thread.start()

    async def _main(self, url: str, headers: dict[str, str], count: int) -> None:
        limits = httpx.Limits(max_connections=count + 10)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None), limits=limits) as client:
            tasks = [asyncio.create_task(self._follow(client, url, headers, n)) for n in range(count)]
            while not self._stop.is_set():
                await asyncio.sleep(0.2)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _follow(self, client: httpx.AsyncClient, url: str, headers: dict[str, str], n: int) -> None:
        last: str | None = None
        while True:
            resume = {"last-event-id": last} if last else {}
            try:
                async with client.stream("GET", url, headers={**headers, **resume}) as response:
                    if response.status_code == 200:
                        self.opened += 1
                        async for line in response.aiter_lines():
                            if line.startswith("id:"):
                                last = line[3:].strip()
                            elif line.startswith("data:"):
                                self.received[n].append(json.loads(line[5:]))
            except httpx.HTTPError:
                pass  # the API is restarting: try again
            self.ended += 1
            if not self._resume:
                return
            await asyncio.sleep(0.5)

    def close(self) -> None:
        """Close every stream."""
        self._stop.set()
        self._thread.join(30)
