"""Remembers which (source, id) pairs were accepted, in Redis, so duplicates survive restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from redis.asyncio import Redis


def _key(source: str, event_id: str) -> str:
    return "ingest:seen:" + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:40]


class SeenEvents:
    """The set of accepted (source, id) pairs, each kept for `ttl_days`."""

    def __init__(self, redis: Redis, ttl_days: int):
        self._redis = redis
        self._ttl = ttl_days * 86400

    async def seen(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """For each (source, id), whether it was accepted before."""
        if not pairs:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for source, event_id in pairs:
                pipe.exists(_key(source, event_id))
            return [bool(found) for found in await pipe.execute()]

    async def remember(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (source, id) pairs as accepted."""
        if not pairs:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for source, event_id in pairs:
                pipe.set(_key(source, event_id), 1, ex=self._ttl)
            await pipe.execute()
