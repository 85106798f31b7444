"""Person → household matching through the pseudonym index, and person records waiting for a household."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from services.common.events import HouseholdEvent, HouseholdRegistered

# Points a person at a household unless a later registration already moved them elsewhere.
_UNLINK_IF_STILL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _person_key(pseudonym: str) -> str:
    return f"person:{pseudonym}"


def _waiting_key(pseudonym: str) -> str:
    return f"person:{pseudonym}:unmatched"


def members_of(event: HouseholdEvent) -> set[str]:
    """The pseudonymised people a registration names (head and members)."""
    data = event.data
    if not isinstance(data, HouseholdRegistered):
        return set()
    return {person for person in [data.head_id, *(data.member_ids or [])] if person}


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

    async def register(self, event: HouseholdEvent) -> set[str]:
        """Point the registration's people at its household, unlink people it no longer lists; return the people."""
        household, people = event.household_id, members_of(event)
        members_key = f"household:{household}:people"
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

    async def keep_unmatched(self, event: HouseholdEvent) -> None:
        """Keep a person-level record (pseudonymised) until the person's household is registered."""
        person = event.person
        if person is None:
            return
        county = (getattr(event.data, "region_code", None) or "unknown")[:6]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(_waiting_key(person), event.key, event.to_json())
            pipe.set(f"person:{person}:county", county)
            pipe.sadd(f"unmatched:county:{county}", person)
            await pipe.execute()

    async def waiting_records(self, person: str) -> list[HouseholdEvent]:
        """The records kept for a person who matched no household."""
        raws = await self._redis.hvals(_waiting_key(person))
        return [HouseholdEvent.from_json(raw) for raw in raws]

    async def release(self, person: str, keys: Sequence[str]) -> None:
        """Forget kept records once they have joined a household."""
        if keys:
            await self._redis.hdel(_waiting_key(person), *keys)
        county = await self._redis.get(f"person:{person}:county")
        if county is not None and not await self._redis.exists(_waiting_key(person)):
            await self._redis.srem(f"unmatched:county:{_text(county)}", person)

    async def unmatched_in_county(self, county: str) -> dict[str, int]:
        """For an unmatched report: each waiting person of a county with the number of records kept."""
        people = [_text(person) for person in await self._redis.smembers(f"unmatched:county:{county}")]
        return {person: int(await self._redis.hlen(_waiting_key(person))) for person in sorted(people)}
