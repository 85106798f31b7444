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
from services.common.errors import body as error_body
from services.common.errors import errors
from services.common.errors import install as errors_install
from services.common.grants import IngestGrant
from services.common.job_records import JobStore
from services.common.logs import configure_logging
from services.common.probes import GroupMember, redis_reachable
from services.common.redis_connections import redis_client
from services.common.settings import IngestSettings
from services.common.web import add_operational_routes
from services.ingest import contract
from services.ingest.bindings import UnsupportedMediaType, from_http
from services.ingest.contract import BINARY_MODE, BatchAnswer, EventOutcome, RejectedEvent
from services.ingest.dedup import SeenEvents
from services.ingest.household_regions import HouseholdRegions
from services.ingest.imports import IMPORT_JOB_HEADER, import_grant, imports_router
from services.ingest.inbound import InboundRoute
from services.ingest.intake import Intake
from services.ingest.keys import grant_of
from services.ingest.persons import PersonIndex, migrate_legacy_keys
from services.ingest.publisher import EventPublisher
from services.ingest.screening import EventWindow
from services.ingest.uploads import UploadGuard
from services.ingest.validation import UnparseableBody

log = logging.getLogger(__name__)

EVENTS_DESCRIPTION = """CloudEvents 1.0 in three modes (INTERFACE.md, v1):

- **structured**: `Content-Type: application/cloudevents+json`, the whole event as JSON (one schema per type below);
- **batch**: `Content-Type: application/cloudevents-batch+json`, a JSON array of such events (at most
  MAX_BATCH_EVENTS), answered 207 with each event's outcome;
- **binary**: `Content-Type: application/json`, the event's `data` as the body and its attributes as `ce-specversion`,
  `ce-id`, `ce-source`, `ce-type` and `ce-time` headers (see `x-cloudevents-binary-mode`: OpenAPI cannot make headers
  depend on the body's media type).

Rejections no JSON Schema can express are 422 too: a time outside the plausible window (EVENT_TIME_EARLIEST, not in
the future), a resident ID whose GB 11643 check digit is wrong, `subject` not equal to `data.household_id`. 403: a
source outside the key's prefix or a household outside its regions."""


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    """Build the ingest app; connections open in the lifespan."""
    settings = settings or IngestSettings()  # type: ignore[call-arg]
    grants = settings.grants()
    redis = redis_client(settings.redis_url, hiredis_packing=True)
    publisher = EventPublisher(settings.kafka_bootstrap_servers, settings.ingest_publish_seconds, settings)
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
    job_records = JobStore(redis)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        used = [topics.INBOUND, topics.CANONICAL, topics.DEADLETTER, topics.PERSONS_UNMATCHED]
        await asyncio.to_thread(topics.await_topics, settings.kafka_bootstrap_servers, used, settings)
        await migrate_legacy_keys(redis)
        await publisher.start()
        route = InboundRoute(
            settings.kafka_bootstrap_servers,
            intake,
            publisher,
            settings.max_json_depth,
            member=inbound,
            credentials=settings,
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
    errors_install(app, extend=contract.add_envelopes)
    app.add_middleware(UploadGuard, path="/imports", keys=set(grants), limit=settings.import_max_body_bytes)

    key_grant = grant_of(grants)
    app.include_router(imports_router(settings, redis, key_grant))

    async def sender_grant(request: Request, grant: Annotated[IngestGrant, Depends(key_grant)]) -> IngestGrant:
        """The key's grant; for the rows of an import job, narrowed to the grant of the key that uploaded it."""
        job_id = request.headers.get(IMPORT_JOB_HEADER)
        if job_id is None:
            return grant
        uploader = await import_grant(job_records, job_id)
        narrowed = uploader.narrowed(grant) if uploader is not None else None
        if narrowed is None:
            raise HTTPException(403, f"{IMPORT_JOB_HEADER}: no import job {job_id[:64]} this key may send rows of")
        return narrowed

    @app.post(
        "/events",
        status_code=202,
        summary="Publish one event (structured or binary mode) or a batch",
        description=EVENTS_DESCRIPTION,
        response_model=EventOutcome,
        openapi_extra={"requestBody": contract.request_body(settings), "x-cloudevents-binary-mode": BINARY_MODE},
        responses={
            200: {"model": EventOutcome, "description": "duplicate: already accepted, no effect"},
            207: {"model": BatchAnswer, "description": "batch: one outcome per event, in order"},
            403: {"model": RejectedEvent, "x-own-body": True,
                  "description": "source outside this key's prefix, or a household outside its regions"},
            422: {"model": RejectedEvent, "x-own-body": True,
                  "description": "invalid event: each offending field and why"},
            **errors(400, 401, 413, 415),
            503: {"description": "Kafka (too few in-sync brokers) or Redis unavailable: nothing accepted, send again"},
        },
    )  # fmt: skip
    async def post_events(request: Request, grant: Annotated[IngestGrant, Depends(sender_grant)]) -> Response:
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
            refused = _problem(503, "unavailable", "the event store cannot take events now; send them again")
            refused.headers["retry-after"] = "1"
            return refused
        if is_batch:
            tally = Counter(outcome.status for outcome in outcomes)
            counts = {status: tally[status] for status in ("accepted", "duplicate", "rejected")}
            return _json({"results": [o.as_dict() for o in outcomes], **counts}, 207)
        outcome = outcomes[0]
        status = {"accepted": 202, "duplicate": 200}.get(outcome.status, 403 if outcome.forbidden else 422)
        answer = outcome.as_dict()
        if status >= 400:  # the one error shape besides the outcome
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in answer.get("errors", []))
            answer |= {k: v for k, v in error_body(status, reasons or "rejected").items() if k != "status"}
        return _json(answer, status)

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
    return JSONResponse({"error": error, **error_body(status, detail)}, status_code=status)
