"""The live stream for the console: Server-Sent Events of alert changes inside the caller's jurisdiction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from redis.asyncio import Redis
from sse_starlette import EventSourceResponse

from services.alerts.store import OUTBOX
from services.api.permissions import Caller, LiveStaff

router = APIRouter(tags=["alerts"])
BLOCK_MS = 15000


async def _changes(redis: Redis, user: Caller, cursor: str) -> AsyncIterator[dict[str, Any]]:
    while True:
        read: Any = await redis.xread({OUTBOX: cursor}, count=100, block=BLOCK_MS)
        for entry_id, fields in read[0][1] if read else []:
            cursor = entry_id
            change = json.loads(fields["change"])
            if user.covers(change["region_code"]):
                yield {"id": entry_id, "event": change["kind"], "data": fields["change"]}


@router.get("/alerts/stream", summary="Live alert changes (Server-Sent Events)")
async def alert_stream(
    request: Request,
    user: LiveStaff,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> EventSourceResponse:
    """Each event: `id` (resume with Last-Event-ID), `event` (the change kind), `data` (the change as JSON)."""
    redis: Redis = request.app.state.redis
    if last_event_id is None:
        newest: Any = await redis.xrevrange(OUTBOX, count=1)
        last_event_id = newest[0][0] if newest else "0-0"
    return EventSourceResponse(_changes(redis, user, str(last_event_id)), ping=15)
