"""Accepting events: validate, check the key's scope, drop duplicates, publish, remember — for HTTP and Kafka."""

from __future__ import annotations

import asyncio
from collections import Counter as Tally
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from prometheus_client import Counter

from services.common.grants import IngestGrant
from services.ingest.canonical import CanonicalEvent
from services.ingest.dedup import CLAIM_POLL_SECONDS, Claimed, SeenEvents, seen_key
from services.ingest.fastpath import FastPath, format_time
from services.ingest.household_regions import HouseholdRegions
from services.ingest.persons import PersonIndex
from services.ingest.publisher import EventPublisher
from services.ingest.screening import EventWindow
from services.ingest.validation import FieldError, InvalidEvent, UnparseableBody, parse_json, source_allowed
from services.ingest.validation import validate_event as reference_validation

EVENTS = Counter("shouwang_ingest_events_total", "Events offered to ingest, by route and outcome", ["route", "outcome"])


class Outcome(msgspec.Struct, gc=False):
    """What happened to one offered event."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    id: str | None = None
    source: str | None = None
    errors: list[FieldError] = []  # noqa: RUF012 - msgspec gives each outcome its own list
    forbidden: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for HTTP responses."""
        body: dict[str, Any] = {"index": self.index, "id": self.id, "source": self.source, "status": self.status}
        if self.errors:
            body["errors"] = [error.as_dict() for error in self.errors]
        if self.note:
            body["note"] = self.note
        return body

    def refuse(self, error: FieldError, forbidden: bool = False) -> None:
        """Mark the event rejected for `error` (forbidden: the key may not write it, 403)."""
        self.status, self.errors, self.forbidden = "rejected", [error], forbidden


def _attribute(raw: Any, name: str) -> str | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


_NOT_REGISTERED = (
    "the household is not registered yet: a key scoped to regions writes only households registered in them"
)
_UNMATCHED_NOTE = "the person matches no registered household yet: kept (pseudonymised) until one is"


class Intake:
    """The one path by which an event enters the pipeline."""

    def __init__(
        self,
        publisher: EventPublisher,
        seen: SeenEvents,
        people: PersonIndex,
        regions: HouseholdRegions,
        pseudonym_key: bytes,
        window: EventWindow,
        max_depth: int,
    ):
        self._publisher = publisher
        self._seen = seen
        self._people = people
        self._regions = regions
        self._key = pseudonym_key
        self._window = window
        self._max_depth = max_depth
        self._fast = FastPath(pseudonym_key, window)

    async def offer(self, raws: list[Any], route: str, grant: IngestGrant | None = None) -> list[Outcome]:
        """Validate and publish events (parsed, or msgspec.Raw JSON of one event); an outcome each, in order."""
        now = datetime.now(UTC)
        accepted_at, bounds = format_time(now), self._window.bounds(now)
        outcomes: list[Outcome] = []
        valid: list[tuple[Outcome, CanonicalEvent]] = []
        for index, raw in enumerate(raws):
            event = self._fast.event(raw, bounds, accepted_at) if isinstance(raw, msgspec.Raw) else None
            if event is not None:
                outcome = Outcome(index, "accepted", event.id, event.source)
            else:
                outcome, event = self._reference(index, raw, now)
            outcomes.append(outcome)
            if event is not None:
                valid.append((outcome, event))
        if grant is not None and grant.source_prefix.strip("/"):
            valid = self._within_sources(valid, grant)  # the prefix; a scoped key's source regions: _within_regions
        valid = await self._match_people(valid)
        if grant is not None and grant.regions is not None:
            valid = await self._within_regions(valid, grant)
        await self._publish_new(valid)
        for status, count in Tally(outcome.status for outcome in outcomes).items():
            EVENTS.labels(route, status).inc(count)
        return outcomes

    def _reference(self, index: int, raw: Any, now: datetime) -> tuple[Outcome, CanonicalEvent | None]:
        """The reference path (pydantic models and the edge rules): each offending field named."""
        try:
            raw = parse_json(bytes(raw), self._max_depth) if isinstance(raw, msgspec.Raw) else raw
        except UnparseableBody as exc:
            return Outcome(index, "rejected", errors=[FieldError("(event)", str(exc))]), None
        outcome = Outcome(index, "rejected", _attribute(raw, "id"), _attribute(raw, "source"))
        try:
            event = reference_validation(raw, self._key, now, self._window)
        except InvalidEvent as exc:
            outcome.errors = exc.errors
            return outcome, None
        outcome.id, outcome.source, outcome.status = event.id, event.source, "accepted"
        return outcome, CanonicalEvent.of(event)

    @staticmethod
    def _within_sources(
        valid: list[tuple[Outcome, CanonicalEvent]], grant: IngestGrant
    ) -> list[tuple[Outcome, CanonicalEvent]]:
        """Refuse events whose source lies outside the key's prefix."""
        kept = []
        for outcome, event in valid:
            if source_allowed(event.source, grant.source_prefix):
                kept.append((outcome, event))
            else:
                prefix = grant.source_prefix
                outcome.refuse(FieldError("source", f"this key may only publish sources under {prefix}"), True)
        return kept

    async def _within_regions(
        self, valid: list[tuple[Outcome, CanonicalEvent]], grant: IngestGrant
    ) -> list[tuple[Outcome, CanonicalEvent]]:
        """Refuse what a key scoped to regions may not write: households registered elsewhere or not registered yet
        (only their registration into its regions), registrations elsewhere, sources naming no region of its own.

        The first registration of a household sets its region for every key (claimed atomically), so a household
        is never taken by whichever key happens to write about it first."""
        registered = await self._regions.of([event.household_id for _, event in valid if event.household_id])
        allowed = " | ".join(grant.regions or ())
        kept: list[tuple[Outcome, CanonicalEvent]] = []
        claims: dict[str, str] = {}  # households this batch registers first, and where
        for outcome, event in valid:
            household = event.household_id or ""
            current = registered.get(household) or claims.get(household)
            if current is not None and not grant.covers_region(current):
                reason = f"the household is registered in region {current}, outside this key's regions ({allowed})"
                outcome.refuse(FieldError("data.household_id", reason), True)
            elif event.region_code is not None and not grant.covers_region(event.region_code):
                outcome.refuse(FieldError("data.region_code", f"outside this key's regions ({allowed})"), True)
            elif household and current is None and event.type != "household.registered":
                outcome.refuse(FieldError("data.household_id", _NOT_REGISTERED), True)
            elif not grant.covers_source(event.source):
                example = f"{grant.source_prefix.rstrip('/')}/{(grant.regions or ('',))[0]}"
                reason = f"this key publishes only sources naming one of its regions ({allowed}), e.g. {example}"
                outcome.refuse(FieldError("source", reason), True)
            else:
                if household and current is None:
                    claims[household] = event.region_code or ""
                kept.append((outcome, event))
        if claims:
            won = await self._regions.claim(claims)
            for outcome, event in kept:
                region = won.get(event.household_id or "")
                if region is not None and not grant.covers_region(region):
                    reason = f"the household is registered in region {region}, outside this key's regions ({allowed})"
                    outcome.refuse(FieldError("data.household_id", reason), True)
            kept = [(outcome, event) for outcome, event in kept if outcome.status != "rejected"]
        return kept

    async def _match_people(self, valid: list[tuple[Outcome, CanonicalEvent]]) -> list[tuple[Outcome, CanonicalEvent]]:
        """Resolve person-level records to households (those matching none stay person-level)."""
        people = [event.person for _, event in valid if event.person]
        if not people:
            return valid
        households = dict(zip(people, await self._people.households_of(people), strict=True))
        matched = []
        for outcome, event in valid:
            household = households.get(event.person) if event.person else None
            matched.append((outcome, event.matched_to(household) if household else event))
        return matched

    async def _publish_new(self, valid: list[tuple[Outcome, CanonicalEvent]]) -> None:
        """Claim, publish, index and remember the events not accepted before (duplicates only acknowledged)."""
        keys: set[str] = set()  # the Redis keys remembering each distinct (source, id)
        fresh: list[tuple[str, Outcome, CanonicalEvent]] = []
        for outcome, event in valid:
            key = seen_key(event.source, event.id)
            if key in keys:
                outcome.status = "duplicate"
            else:
                keys.add(key)
                fresh.append((key, outcome, event))
        waiting = fresh
        while waiting:  # ends: a twin's claim settles (published, or released) or expires after claim_seconds
            claim = await self._seen.claim([key for key, _, _ in waiting])
            mine = []
            for (_, outcome, event), state in zip(waiting, claim.states, strict=True):
                if state is Claimed.MINE:
                    mine.append(event)
                elif state is Claimed.ACCEPTED:
                    outcome.status = "duplicate"
            if mine:
                try:
                    await self._publish(mine)
                except BaseException:
                    await self._seen.release(claim)
                    raise
                await self._seen.accept(claim)
            waiting = [item for item, state in zip(waiting, claim.states, strict=True) if state is Claimed.ELSEWHERE]
            if waiting:  # a twin is being published by another request: ours settle first, nothing held meanwhile
                await asyncio.sleep(CLAIM_POLL_SECONDS)
        for _, outcome, event in fresh:
            if outcome.status == "accepted" and event.person is not None:
                outcome.note = _UNMATCHED_NOTE

    async def _publish(self, events: list[CanonicalEvent]) -> None:
        """Publish matched events, keep unmatched ones, then update the region and person indexes."""
        matched = [event for event in events if event.person is None]
        unmatched = [event for event in events if event.person is not None]
        await self._publisher.publish(matched)
        await self._publisher.keep_unmatched(unmatched)
        for event in unmatched:
            await self._people.keep_unmatched(event)
        registrations = [event for event in matched if event.type == "household.registered"]
        await self._regions.record({e.household_id or "": e.region_code or "" for e in registrations})
        for registration in registrations:
            if registration.members:
                await self._join_waiting_records(registration)

    async def _join_waiting_records(self, registration: CanonicalEvent) -> None:
        """After a registration, earlier records of its people join the household."""
        household = registration.household_id
        assert household is not None, "a registration names its household"
        for person in await self._people.register(registration):
            waiting = await self._people.waiting_records(person)
            if waiting:
                await self._publisher.publish([record.matched_to(household) for record in waiting])
                await self._people.release(person, [record.key for record in waiting])
