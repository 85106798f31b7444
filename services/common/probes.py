"""Probes of the processes without an HTTP API (scoring, alerts): /healthz, /readyz and /metrics on their metrics
port, and whether a consumer holds its group's assignment, which their readiness is made of."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
Page = Callable[[], Awaitable[dict[str, Any]]]
_REQUEST_SECONDS = 5  # a client that has not sent its request line and headers by then is dropped


class GroupMember(ConsumerRebalanceListener):  # type: ignore[misc]
    """Whether a consumer holds its group's assignment: not from the start or a revocation until the next assignment
    (an empty one counts: a group with more members than partitions leaves some idle, and they are ready)."""

    def __init__(self, on_assigned: Callable[[Sequence[TopicPartition]], Awaitable[None]] | None = None):
        self.assigned = False
        self.ever_assigned = False
        self._on_assigned = on_assigned  # e.g. seeks the new partitions to positions kept elsewhere

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """A rebalance begins: not ready until it ends."""
        self.assigned = False

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """The rebalance ended with this member's partitions (ready once `on_assigned` is done with them)."""
        if self._on_assigned is not None:
            await self._on_assigned(assigned)
        self.assigned = self.ever_assigned = True


async def redis_reachable(redis: Redis) -> bool:
    """True when Redis answers a ping within two seconds."""
    try:
        return bool(await asyncio.wait_for(redis.ping(), 2))
    except Exception:  # noqa: BLE001 - any failure means not reachable
        return False


async def serve_probes(
    host: str, port: int, readiness: ReadinessCheck, pages: Mapping[str, Page] | None = None
) -> asyncio.Server:
    """Serve GET /healthz, /readyz (200 when every check passes, else 503; the checks as JSON), /metrics, and each of
    `pages` (path: what it answers, as JSON)."""

    async def answer(path: str) -> tuple[int, str, bytes]:
        if pages and path in pages:
            return 200, "application/json", json.dumps(await pages[path]()).encode()
        if path == "/healthz":
            return 200, "application/json", b'{"status": "ok"}'
        if path == "/readyz":
            checks = await readiness()
            ready = all(checks.values())
            return 200 if ready else 503, "application/json", json.dumps({"ready": ready, "checks": checks}).encode()
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        return 404, "application/json", b'{"detail": "Not Found"}'

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), _REQUEST_SECONDS)
            while await asyncio.wait_for(reader.readline(), _REQUEST_SECONDS) not in (b"\r\n", b"\n", b""):
                pass  # headers: none matters
            method, path, *_ = [*request.decode("latin-1").split(), "", ""]
            path = path.split("?")[0] if method in ("GET", "HEAD") else ""
            status, content_type, body = await answer(path)
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            writer.write(f"{head}Connection: close\r\n\r\n".encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)
