"""Ingest HTTP service: `POST /events` in CloudEvents structured, binary and batch modes."""

import asyncio
import contextlib
import gc
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from aiokafka.errors import KafkaError
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError

from services.common import topics
from services.common.logs import configure_logging
from services.common.probes import GroupMember, redis_reachable
from services.common.settings import IngestGrant, IngestSettings, redis_client
from services.common.web import add_operational_routes
from services.ingest.bindings import BATCH, JSON, STRUCTURED, UnsupportedMediaType, from_http
from services.ingest.dedup import SeenEvents
from services.ingest.imports import imports_router
from services.ingest.inbound import InboundRoute
from services.ingest.intake import Intake
from services.ingest.keys import grant_of, source_prefix_of
from services.ingest.persons import PersonIndex, migrate_legacy_keys
from services.ingest.publisher import EventPublisher
from services.ingest.regions import HouseholdRegions
from services.ingest.screening import EventWindow
from services.ingest.uploads import UploadGuard
from services.ingest.validation import UnparseableBody

log = logging.getLogger(__name__)

_EVENT_EXAMPLE = {
    "specversion": "1.0",
    "id": "civil-2025-000123",
    "source": "/civil-affairs/532328",
    "type": "household.registered",
    "time": "2025-03-01T08:00:00+08:00",
    "datacontenttype": "application/json",
    "data": {
        "household_id": "H532328001",
        "region_code": "532328101001",
        "members": 4,
        "labourers": 2,
        "category": "poverty_exited",
        "annual_net_income": 9600,
    },
}
_REQUEST_BODY = {
    "required": True,
    "content": {
        STRUCTURED: {"schema": {"type": "object"}, "example": _EVENT_EXAMPLE},
        BATCH: {"schema": {"type": "array", "items": {"type": "object"}, "maxItems": 1000}},
        JSON: {"schema": {"type": "object"}, "example": _EVENT_EXAMPLE["data"]},
    },
}


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; connections open in the lifespan."""
    settings = settings or IngestSettings()  # type: ignore[call-arg]
    grants = settings.grants()
    redis = redis_client(settings.redis_url, hiredis_packing=True)
    publisher = EventPublisher(settings.kafka_bootstrap_servers, settings.ingest_publish_seconds)
    window = EventWindow(
        settings.event_time_earliest, settings.event_months_ahead, timedelta(minutes=settings.event_clock_skew_minutes)
    )
    intake = Intake(
        publisher,
        SeenEvents(redis, settings.dedup_ttl_days, settings.dedup_claim_seconds),
        PersonIndex(redis),
        HouseholdRegions(redis),
        settings.pseudonym_key.get_secret_value().encode(),
        window,
        settings.max_json_depth,
    )
    inbound = GroupMember()  # the inbound route's consumer in its group

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        await asyncio.to_thread(
            topics.ensure_topics,
            settings.kafka_bootstrap_servers,
            settings.kafka_partitions,
            replication=topics.Replication.of(settings),
        )
        await migrate_legacy_keys(redis)
        await publisher.start()
        route = InboundRoute(
            settings.kafka_bootstrap_servers, intake, publisher, settings.max_json_depth, member=inbound
        )
        consuming = asyncio.create_task(route.run())
        gc.freeze()  # what start-up made lives as long as the process: the collector no longer walks it
        yield
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
        await publisher.stop()
        await redis.aclose()

    app = FastAPI(title="Shouwang ingest", version="1", lifespan=lifespan)
    app.add_middleware(UploadGuard, path="/imports", keys=set(grants), limit=settings.import_max_body_bytes)

    source_prefix = source_prefix_of(grants)
    app.include_router(imports_router(settings, redis, source_prefix))

    @app.post(
        "/events",
        status_code=202,
        summary="Publish one event (structured or binary mode) or a batch",
        openapi_extra={"requestBody": _REQUEST_BODY},
        responses={
            200: {"description": "duplicate: already accepted, no effect"},
            207: {"description": "batch: one outcome per event"},
            400: {"description": "unparseable body"},
            403: {"description": "source outside this key's prefix, or a household outside its regions"},
            413: {"description": "body or batch too large"},
            415: {"description": "unsupported content type"},
            422: {"description": "invalid event: each offending field and why"},
            503: {"description": "Kafka (too few in-sync brokers) or Redis unavailable: nothing accepted, send again"},
        },
    )
    async def post_events(request: Request, grant: Annotated[IngestGrant, Depends(grant_of(grants))]) -> Response:
        body = await _bounded_body(request, settings.max_body_bytes)
        try:
            raws, is_batch = from_http(
                request.headers.get("content-type"), request.headers, body, settings.max_json_depth
            )
        except UnsupportedMediaType as exc:
            return _problem(415, "unsupported_media_type", str(exc))
        except UnparseableBody as exc:
            return _problem(400, "unparseable", str(exc))
        if is_batch and len(raws) > settings.max_batch_events:
            return _problem(413, "batch_too_large", f"a batch holds at most {settings.max_batch_events} events")
        try:
            outcomes = await intake.offer(raws, "http", grant)
        except (KafkaError, RedisError, OSError) as exc:  # nothing of the request is accepted: send it again later
            log.warning("events refused for now: %s", exc)
            return JSONResponse(
                {"error": "unavailable", "detail": "the event store cannot take events now; send them again"},
                status_code=503,
                headers={"retry-after": "1"},
            )
        if is_batch:
            tally = Counter(outcome.status for outcome in outcomes)
            counts = {status: tally[status] for status in ("accepted", "duplicate", "rejected")}
            return _json({"results": [o.as_dict() for o in outcomes], **counts}, 207)
        outcome = outcomes[0]
        status = {"accepted": 202, "duplicate": 200}.get(outcome.status, 403 if outcome.forbidden else 422)
        return _json(outcome.as_dict(), status)

    async def readiness() -> dict[str, bool]:
        # The inbound group counts once joined: a later rebalance does not concern the HTTP route this readiness
        # takes in and out of the load balancer.
        joined = inbound.ever_assigned
        return {"kafka": await publisher.ready(), "redis": await redis_reachable(redis), "inbound_group": joined}

    add_operational_routes(app, readiness)
    return app


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: Any, status: int) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


def _problem(status: int, error: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)
