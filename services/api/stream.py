"""The live stream for the console: Server-Sent Events of alert changes inside the caller's jurisdiction, handed out
by the process's change feed (change_feed.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Header
from sse_starlette import EventSourceResponse

from services.api.change_feed import ChangeFeed, Listener
from services.api.dependencies import Feed, LiveToken, Tokens
from services.api.permissions import LiveCaseworker

router = APIRouter(tags=["alerts"])


async def token_session(raw: LiveToken, tokens: Tokens) -> tuple[str, float]:
    """The epoch and expiry of the caller's token (LiveCaseworker has verified it: bearer header or `access_token`)."""
    _, epoch = tokens.claims(raw)
    expires_at = float(jwt.decode(raw, options={"verify_signature": False})["exp"])  # verified by claims()
    return epoch, expires_at


async def _events(feed: ChangeFeed, listener: Listener, after: str) -> AsyncIterator[dict[str, Any]]:
    sent = after
    for past in await feed.backlog(after):
        if listener.covers(past["change"]):
            sent = past["id"]
            yield _sse(past)
    while (left := listener.expires_at - time.time()) > 0:
        try:
            event: dict[str, Any] | None = await asyncio.wait_for(listener.queue.get(), left)
        except TimeoutError:
            return  # the token expired: the console logs in again (refresh token) and reconnects
        if event is None:  # _END
            return
        if _after(event["id"], sent):
            sent = event["id"]
            yield _sse(event)


def _after(entry_id: str, other: str) -> bool:
    return tuple(map(int, entry_id.split("-"))) > tuple(map(int, other.split("-")))


def _sse(event: dict[str, Any]) -> dict[str, Any]:
    return {"id": event["id"], "event": event["event"], "data": event["data"]}


@router.get("/alerts/stream", summary="Live alert changes (Server-Sent Events)")
async def alert_stream(
    user: LiveCaseworker,
    feed: Feed,
    session: Annotated[tuple[str, float], Depends(token_session)],
    last_event_id: Annotated[
        str | None,
        Header(
            pattern=r"^\d+-\d+$",
            description="the `id` of the last event received (e.g. 1733456789012-0): resume after it",
        ),
    ] = None,
) -> EventSourceResponse:
    """Each event: `id` (resume with Last-Event-ID), `event` (the change kind), `data` (the change as JSON).

    The stream ends when the token expires or the account is disabled; reconnect with a fresh token.
    """

    async def events() -> AsyncIterator[dict[str, Any]]:
        async with feed.listen(user, *session) as listener:
            after = last_event_id or await feed.position()
            async for event in _events(feed, listener, after):
                yield event

    return EventSourceResponse(events(), ping=15)
