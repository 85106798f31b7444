"""The change feed behind the live stream: one reader per API process follows the outbox on a connection of its own
and hands each change to the streams open in the process whose jurisdiction covers it, so a county's staff at once
cost one Redis reader, not a pooled connection each. Before a batch of changes is handed out, the accounts of the
streams it goes to are read again: a stream ends when its account is disabled or its token superseded (no change made
after that reaches it), when its token expires, and when its client falls STREAM_QUEUE changes behind (it reconnects
with Last-Event-ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.alerts.store import OUTBOX
from services.api.jurisdiction import Caller
from services.api.users import UserStore

log = logging.getLogger(__name__)
BLOCK_MS = 2000  # the reader's wait for new changes: well under the Redis client's socket timeout
BACKLOG = 1000  # changes a resuming stream reads back at most (older ones: reload the page)
_END = None  # what a stream's queue receives when the stream must end


@dataclass(eq=False)
class Listener:
    """One open stream: whom it is for, until when, and the changes waiting to be sent."""

    user: Caller
    epoch: str  # the account's epoch its token names: a new one (disabled, reset) ends the stream
    expires_at: float  # the token's expiry (seconds since the epoch)
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def covers(self, change: dict[str, Any]) -> bool:
        """True when the change lies inside the stream's jurisdiction."""
        return self.user.covers(str(change["region_code"]))

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
    async def listen(self, user: Caller, epoch: str, expires_at: float) -> AsyncIterator[Listener]:
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
        return [event_of(entry_id, fields["change"]) for entry_id, fields in found]

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
                    await self.dispatch([event_of(entry_id, fields["change"]) for entry_id, fields in entries])
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


def event_of(entry_id: Any, raw: str) -> dict[str, Any]:
    change = json.loads(raw)
    return {"id": str(entry_id), "event": change["kind"], "data": raw, "change": change}
