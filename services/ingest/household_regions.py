"""Where each household is registered (household -> region code), as ingest learns it from registrations.

Keys scoped to regions may write only households registered inside their regions: the region a household
was registered in is what they are checked against, so a key cannot move a household out of another region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio import Redis

REGIONS_KEY = "ingest:household-regions"  # hash: household_id -> 12-digit region code
# ARGV: household, region, household, region, ...: each household's region, set here when it had none.
_CLAIM = """
local found = {}
for i = 1, #ARGV, 2 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  found[#found + 1] = redis.call('HGET', KEYS[1], ARGV[i])
end
return found
"""


class HouseholdRegions:
    """The registered region of each household."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)

    async def of(self, households: Sequence[str]) -> dict[str, str]:
        """{household: region} for those of `households` registered so far."""
        distinct = sorted(set(households))
        if not distinct:
            return {}
        found = await self._redis.hmget(REGIONS_KEY, distinct)
        return {h: r.decode() if isinstance(r, bytes) else r for h, r in zip(distinct, found, strict=True) if r}

    async def record(self, registrations: Mapping[str, str]) -> None:
        """Remember the region of each registered household (the latest registration wins)."""
        if registrations:
            mapping: dict[Any, Any] = dict(registrations)
            await self._redis.hset(REGIONS_KEY, mapping=mapping)

    async def claim(self, registrations: Mapping[str, str]) -> dict[str, str]:
        """Set the region of each household that has none yet, atomically; {household: its region now}."""
        args = [item for pair in registrations.items() for item in pair]
        found = await self._claim(keys=[REGIONS_KEY], args=args)
        return {h: r.decode() if isinstance(r, bytes) else r for h, r in zip(registrations, found, strict=True)}
