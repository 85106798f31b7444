"""Remembers which (source, id) pairs were accepted, in Redis, so duplicates survive restarts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from redis.asyncio import Redis

# One round trip for a whole batch: a pipeline of a thousand SETs costs more in the client than in Redis.
_REMEMBER = """
for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'EX', ARGV[1]) end
return #KEYS
"""


def _key(source: str, event_id: str) -> str:
    return "ingest:seen:" + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:40]


class SeenEvents:
    """The set of accepted (source, id) pairs, each kept for `ttl_days`."""

    def __init__(self, redis: Redis, ttl_days: int):
        self._redis = redis
        self._ttl = ttl_days * 86400
        self._remember = redis.register_script(_REMEMBER)

    async def seen(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """For each (source, id), whether it was accepted before."""
        if not pairs:
            return []
        found = await self._redis.mget([_key(source, event_id) for source, event_id in pairs])
        return [value is not None for value in found]

    async def remember(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Record (source, id) pairs as accepted."""
        if not pairs:
            return
        await self._remember(keys=[_key(source, event_id) for source, event_id in pairs], args=[self._ttl])
