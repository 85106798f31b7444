"""Person → household matching through the pseudonym index, and person records waiting for a household.

Every key lives under `ingest:` (other services' rebuilds and clean-ups never touch it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.asyncio import Redis

from services.ingest.canonical import CanonicalEvent

log = logging.getLogger(__name__)

# Points a person at a household unless a later registration already moved them elsewhere.
_UNLINK_IF_STILL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _person_key(pseudonym: str) -> str:
    return f"ingest:person:{pseudonym}"


def _waiting_key(pseudonym: str) -> str:
    return f"ingest:person:{pseudonym}:unmatched"


def _county_key(pseudonym: str) -> str:
    return f"ingest:person:{pseudonym}:county"


def _unmatched_key(county: str) -> str:
    return f"ingest:unmatched:county:{county}"


def _members_key(household: str) -> str:
    return f"ingest:household:{household}:people"


# Before ingest's keys had their own prefix (an alerts rebuild deleted `household:*`): moved once, at start-up.
_LEGACY_PATTERNS = ("person:*", "household:*:people", "unmatched:county:*")
_MIGRATED = "ingest:keys-migrated"


async def migrate_legacy_keys(redis: Redis) -> int:
    """Move the person index from its unprefixed keys under `ingest:` (once; a key already moved wins)."""
    if await redis.exists(_MIGRATED):
        return 0
    moved = 0
    for pattern in _LEGACY_PATTERNS:
        async for name in redis.scan_iter(match=pattern, count=1000):
            old = _text(name)
            if not await redis.renamenx(old, f"ingest:{old}"):
                await redis.delete(old)
            moved += 1
    await redis.set(_MIGRATED, moved)
    if moved:
        log.info("moved %d person-index keys under the ingest: prefix", moved)
    return moved


class PersonIndex:
    """pseudonym → household_id, kept current as registrations change; unmatched records wait per person."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._unlink = redis.register_script(_UNLINK_IF_STILL)

    async def households_of(self, people: Sequence[str]) -> list[str | None]:
        """The household of each person, or None when the person matches no registered household."""
        if not people:
            return []
        found = await self._redis.mget([_person_key(person) for person in people])
        return [None if value is None else _text(value) for value in found]

    async def register(self, event: CanonicalEvent) -> set[str]:
        """Point the registration's people at its household, unlink people it no longer lists; return the people."""
        household, people = event.household_id, set(event.members)
        assert household is not None, "a registration names its household"
        members_key = _members_key(household)
        before = {_text(person) for person in await self._redis.smembers(members_key)}
        async with self._redis.pipeline(transaction=True) as pipe:
            for person in people:
                pipe.set(_person_key(person), household)
            pipe.delete(members_key)
            if people:
                pipe.sadd(members_key, *people)
            await pipe.execute()
        for person in before - people:
            await self._unlink(keys=[_person_key(person)], args=[household])
        return people

    async def keep_unmatched(self, event: CanonicalEvent) -> None:
        """Keep a person-level record (pseudonymised) until the person's household is registered."""
        person = event.person
        if person is None:
            return
        county = (event.region_code or "unknown")[:6]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_waiting_key(person), event.key, event.body)
            pipe.set(_county_key(person), county)
            pipe.sadd(_unmatched_key(county), person)
            await pipe.execute()

    async def waiting_records(self, person: str) -> list[CanonicalEvent]:
        """The records kept for a person who matched no household."""
        raws = await self._redis.hvals(_waiting_key(person))
        return [CanonicalEvent.from_json(raw if isinstance(raw, bytes) else raw.encode()) for raw in raws]

    async def release(self, person: str, keys: Sequence[str]) -> None:
        """Forget kept records once they have joined a household."""
        if keys:
            await self._redis.hdel(_waiting_key(person), *keys)
        county = await self._redis.get(_county_key(person))
        if county is not None and not await self._redis.exists(_waiting_key(person)):
            await self._redis.srem(_unmatched_key(_text(county)), person)

    async def unmatched_in_county(self, county: str) -> dict[str, int]:
        """For an unmatched report: each waiting person of a county with the number of records kept."""
        people = [_text(person) for person in await self._redis.smembers(_unmatched_key(county))]
        return {person: int(await self._redis.hlen(_waiting_key(person))) for person in sorted(people)}
