"""Which (source, id) pairs were accepted, in Redis, so duplicates survive restarts; claimed atomically.

A publisher first claims its events (SET NX with its token, for `claim_seconds`), publishes, then marks them
accepted ("1", for `ttl_days`); a failed publish releases its claims, so a retry is accepted, never lost. An
identical event arriving meanwhile is a duplicate only once the first one is on the topic: its publisher settles
its own claims, then asks again (holding nothing while it waits, so two publishers never wait on each other).
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

CLAIM_POLL_SECONDS = 0.05  # how often a twin's unsettled claim is looked at again
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


class Claimed(enum.Enum):
    """Where an event stands when a publisher claims it."""

    ACCEPTED = 0  # accepted before: a duplicate
    MINE = 1  # claimed now: this publisher publishes it
    ELSEWHERE = 2  # another publisher holds it and has not settled yet


_CLAIMED = tuple(sorted(Claimed, key=lambda state: state.value))  # by value: a tuple index is cheaper than Claimed()


class Claim:
    """One claim call: `states[i]` for pair i; the keys this publisher now holds."""

    def __init__(self, token: str, keys: Sequence[str], states: list[Claimed]):
        self.token = token
        self.states = states
        self.keys = [key for key, state in zip(keys, states, strict=True) if state is Claimed.MINE]


class SeenEvents:
    """The set of accepted (source, id) pairs, each kept for `ttl_days`."""

    def __init__(self, redis: Redis, ttl_days: int, claim_seconds: int):
        self._redis = redis
        self._ttl = ttl_days * 86400
        self._claim_seconds = claim_seconds
        self._claim = redis.register_script(_CLAIM)
        self._accept = redis.register_script(_ACCEPT)
        self._release = redis.register_script(_RELEASE)

    async def claim(self, keys: Sequence[str]) -> Claim:
        """Claim, in one atomic step, each distinct key (`seen_key`) that is neither accepted nor held elsewhere."""
        token = uuid.uuid4().hex
        outcome = await self._claim(keys=keys, args=[token, self._claim_seconds]) if keys else []
        return Claim(token, keys, [_CLAIMED[result] for result in outcome])

    async def accept(self, claim: Claim) -> None:
        """Record the claimed events as accepted (they are on the topic)."""
        if claim.keys:
            await self._accept(keys=claim.keys, args=[self._ttl])

    async def release(self, claim: Claim) -> None:
        """Give the claimed events up (their publish failed): a retry of any of them is accepted."""
        if claim.keys:
            await self._release(keys=claim.keys, args=[claim.token])
