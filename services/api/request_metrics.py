"""API latency as Prometheus sees it: one histogram of request seconds by route template, method and status."""

from __future__ import annotations

import time

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "shouwang_api_request_seconds",
    "Seconds to answer an API request, by route template, method and status",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
STREAMING = ("/alerts/stream",)  # answers that last as long as the client listens: not latency


class RequestSeconds:
    """ASGI middleware timing each HTTP request until its answer starts (the route's template keeps labels few)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; the label is the matched route's template, or `unmatched`."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            if route not in STREAMING:
                REQUEST_SECONDS.labels(route, scope["method"], str(status)).observe(time.perf_counter() - started)
