"""The live stream for the console: Server-Sent Events of alert changes inside the caller's jurisdiction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.security import OAuth2PasswordBearer
from redis.asyncio import Redis
from sse_starlette import EventSourceResponse

from services.alerts.store import OUTBOX
from services.api.auth import current_user
from services.api.users import User

router = APIRouter(tags=["alerts"])
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
BLOCK_MS = 15000


async def stream_user(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
    access_token: Annotated[str | None, Query(description="for EventSource, which cannot send headers")] = None,
) -> User:
    """The caller, from the bearer header or the `access_token` query parameter."""
    if not (token or access_token):
        raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
    return await current_user(request, token or access_token or "")


async def _changes(redis: Redis, user: User, cursor: str) -> AsyncIterator[dict[str, Any]]:
    while True:
        read: Any = await redis.xread({OUTBOX: cursor}, count=100, block=BLOCK_MS)
        for entry_id, fields in read[0][1] if read else []:
            cursor = entry_id
            change = json.loads(fields["change"])
            if change["region_code"].startswith(user.region_code):
                yield {"id": entry_id, "event": change["kind"], "data": fields["change"]}


@router.get("/alerts/stream", summary="Live alert changes (Server-Sent Events)")
async def alert_stream(
    request: Request,
    user: Annotated[User, Depends(stream_user)],
    last_event_id: Annotated[str | None, Header(pattern=r"^\d+-\d+$")] = None,
) -> EventSourceResponse:
    """Each event: `id` (resume with Last-Event-ID), `event` (the change kind), `data` (the change as JSON)."""
    redis: Redis = request.app.state.redis
    if last_event_id is None:
        newest: Any = await redis.xrevrange(OUTBOX, count=1)
        last_event_id = newest[0][0] if newest else "0-0"
    return EventSourceResponse(_changes(redis, user, str(last_event_id)), ping=15)
