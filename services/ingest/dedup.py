"""Which (source, id) pairs were accepted, in Redis, so duplicates survive restarts; claimed atomically.

A publisher first claims its events (SET NX with its token, for `claim_seconds`), publishes, then marks them
accepted ("1", for `ttl_days`); a failed publish releases its claims, so a retry is accepted, never lost. An
identical event arriving meanwhile waits for the claim to settle: it is a duplicate only once the first one is
on the topic.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

_POLL_SECONDS = 0.05
# Per key: 1 claimed now, 0 accepted before, 2 claimed by another publisher that has not settled yet.
_CLAIM = """
local outcome = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[1], 'NX', 'EX', ARGV[2]) then outcome[i] = 1
  elseif redis.call('GET', key) == '1' then outcome[i] = 0
  else outcome[i] = 2 end
end
return outcome
"""
_ACCEPT = """
for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'EX', ARGV[1]) end
return #KEYS
"""
_RELEASE = """
for _, key in ipairs(KEYS) do if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end end
return #KEYS
"""


def seen_key(source: str, event_id: str) -> str:
    """The Redis key remembering (source, id)."""
    return "ingest:seen:" + hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()[:40]


class Claim:
    """The events one publisher holds: `fresh[i]` is True when pair i is its to publish."""

    def __init__(self, token: str, keys: list[str], fresh: list[bool]):
        self.token = token
        self.fresh = fresh
        self.keys = [key for key, mine in zip(keys, fresh, strict=True) if mine]


class SeenEvents:
    """The set of accepted (source, id) pairs, each kept for `ttl_days`."""

    def __init__(self, redis: Redis, ttl_days: int, claim_seconds: int):
        self._redis = redis
        self._ttl = ttl_days * 86400
        self._claim_seconds = claim_seconds
        self._claim = redis.register_script(_CLAIM)
        self._accept = redis.register_script(_ACCEPT)
        self._release = redis.register_script(_RELEASE)

    async def claim(self, pairs: Sequence[tuple[str, str]]) -> Claim:
        """Claim each distinct (source, id) not accepted before; waits while another publisher holds one."""
        token = uuid.uuid4().hex
        keys = [seen_key(source, event_id) for source, event_id in pairs]
        outcome = list(await self._claim(keys=keys, args=[token, self._claim_seconds])) if keys else []
        waiting = [n for n, result in enumerate(outcome) if result == 2]
        while waiting:  # ends: a claim is settled by its publisher or expires after claim_seconds
            await asyncio.sleep(_POLL_SECONDS)
            again = await self._claim(keys=[keys[n] for n in waiting], args=[token, self._claim_seconds])
            for n, result in zip(waiting, again, strict=True):
                outcome[n] = result
            waiting = [n for n in waiting if outcome[n] == 2]
        return Claim(token, keys, [result == 1 for result in outcome])

    async def accept(self, claim: Claim) -> None:
        """Record the claimed events as accepted (they are on the topic)."""
        if claim.keys:
            await self._accept(keys=claim.keys, args=[self._ttl])

    async def release(self, claim: Claim) -> None:
        """Give the claimed events up (their publish failed): a retry of any of them is accepted."""
        if claim.keys:
            await self._release(keys=claim.keys, args=[claim.token])
