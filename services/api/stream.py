"""The live stream for the console: Server-Sent Events of alert changes inside the caller's jurisdiction.

One reader per API process (`ChangeFeed`) follows the outbox on a connection of its own and hands each change to the
streams open in the process whose jurisdiction covers it, so a county's staff at once cost one Redis reader, not a
pooled connection each. Before a batch of changes is handed out, the accounts of the streams it goes to are read
again: a stream ends when its account is disabled or its token superseded (no change made after that reaches it),
when its token expires, and when its client falls STREAM_QUEUE changes behind (it reconnects with Last-Event-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import OAuth2PasswordBearer
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse

from services.alerts.store import OUTBOX
from services.api.permissions import LiveCaseworker
from services.api.users import User, UserStore

log = logging.getLogger(__name__)
router = APIRouter(tags=["alerts"])
_bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
BLOCK_MS = 2000  # the reader's wait for new changes: well under the Redis client's socket timeout
BACKLOG = 1000  # changes a resuming stream reads back at most (older ones: reload the page)
_END = None  # what a stream's queue receives when the stream must end


@dataclass(eq=False)
class Listener:
    """One open stream: whom it is for, until when, and the changes waiting to be sent."""

    user: User
    epoch: str  # the account's epoch its token names: a new one (disabled, reset) ends the stream
    expires_at: float  # the token's expiry (seconds since the epoch)
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def covers(self, change: dict[str, Any]) -> bool:
        """True when the change lies inside the stream's jurisdiction."""
        return str(change["region_code"]).startswith(self.user.region_code)

    def end(self) -> None:
        """End the stream (its client reconnects, and is refused if it may no longer listen)."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(_END)


class ChangeFeed:
    """Follows the outbox and fans each change out to this process's streams."""

    def __init__(self, redis: Redis, redis_url: str, users: UserStore, queue_size: int):
        self._redis = redis  # the process's pool, for a stream's start
        self._reader = Redis.from_url(redis_url, decode_responses=True, max_connections=1)  # the reader's own
        self._users, self._queue_size = users, queue_size
        self._listeners: set[Listener] = set()
        self._position: str | None = None  # the id of the last change read

    @contextlib.asynccontextmanager
    async def listen(self, user: User, epoch: str, expires_at: float) -> AsyncIterator[Listener]:
        """A listener for one stream, registered while the stream is open."""
        listener = Listener(user, epoch, expires_at, asyncio.Queue(self._queue_size + 1))
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)

    async def backlog(self, after: str) -> list[dict[str, Any]]:
        """The changes after `after` still in the outbox (for Last-Event-ID), oldest first."""
        found: Any = await self._redis.xrange(OUTBOX, f"({after}", "+", count=BACKLOG)
        return [_event(entry_id, fields["change"]) for entry_id, fields in found]

    async def position(self) -> str:
        """Where a new stream starts: the last change the reader has read (the newest in the outbox before that)."""
        if self._position is None:
            found: Any = await self._redis.xrevrange(OUTBOX, count=1)
            return str(found[0][0]) if found else "0-0"
        return self._position

    async def run(self) -> None:
        """Read and dispatch until cancelled; a Redis outage pauses it, the streams stay open."""
        while True:
            try:
                if self._position is None:
                    self._position = await self.position()
                read: Any = await self._reader.xread({OUTBOX: self._position}, count=500, block=BLOCK_MS)
                entries = read[0][1] if read else []
                if entries:
                    self._position = str(entries[-1][0])
                    await self.dispatch([_event(entry_id, fields["change"]) for entry_id, fields in entries])
            except (RedisError, OSError) as exc:
                log.warning("live stream reader paused: %s", exc)
                await asyncio.sleep(1)

    async def dispatch(self, events: list[dict[str, Any]]) -> None:
        """Hand each change to the open streams that cover it, once their accounts have been read again."""
        wanted = {
            listener: mine
            for listener in list(self._listeners)
            if not listener.closed and (mine := [e for e in events if listener.covers(e["change"])])
        }
        names = sorted({listener.user.username for listener in wanted})
        sessions = dict(zip(names, await asyncio.gather(*(self._users.session(n) for n in names)), strict=True))
        for listener, mine in wanted.items():
            user, epoch = sessions[listener.user.username]
            if user is None or user.disabled or epoch != listener.epoch:
                listener.end()
                continue
            if listener.queue.qsize() + len(mine) > self._queue_size:
                listener.end()  # too far behind: it resumes from the outbox with Last-Event-ID
                continue
            for event in mine:
                listener.queue.put_nowait(event)

    async def aclose(self) -> None:
        """Close the reader's connection."""
        await self._reader.aclose()


def _event(entry_id: Any, raw: str) -> dict[str, Any]:
    change = json.loads(raw)
    return {"id": str(entry_id), "event": change["kind"], "data": raw, "change": change}


def token_session(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
    access_token: Annotated[str | None, Query(description="for EventSource, which cannot send headers")] = None,
) -> tuple[str, float]:
    """The epoch and expiry of the caller's token (LiveCaseworker has verified it: bearer header or `access_token`)."""
    raw = token or access_token or ""
    _, epoch = request.app.state.tokens.claims(raw)
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
    request: Request,
    user: LiveCaseworker,
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
    feed: ChangeFeed = request.app.state.feed

    async def events() -> AsyncIterator[dict[str, Any]]:
        async with feed.listen(user, *session) as listener:
            after = last_event_id or await feed.position()
            async for event in _events(feed, listener, after):
                yield event

    return EventSourceResponse(events(), ping=15)
