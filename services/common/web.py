"""Operational routes every HTTP service exposes: /healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]


def add_operational_routes(
    app: FastAPI, readiness: ReadinessCheck, before_metrics: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Add liveness, readiness (each dependency named) and Prometheus metrics to `app` (`before_metrics`: refreshes
    computed gauges first)."""

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Kafka and Redis are reachable (200), else 503",
        responses={503: {"description": "a dependency is not ready (`checks` names it)"}},
    )
    async def readyz() -> JSONResponse:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                         "description": "the Prometheus text exposition format"}},
    )  # fmt: skip
    async def metrics() -> Response:
        if before_metrics is not None:
            await before_metrics()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
