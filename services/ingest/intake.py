"""Accepting events: validate, drop duplicates, publish, remember — shared by HTTP and Kafka routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import Counter

from services.common.events import HouseholdEvent
from services.ingest.dedup import SeenEvents
from services.ingest.persons import PersonIndex, members_of
from services.ingest.publisher import EventPublisher
from services.ingest.validation import FieldError, InvalidEvent, source_allowed, validate_event

EVENTS = Counter("shouwang_ingest_events_total", "Events offered to ingest, by route and outcome", ["route", "outcome"])


@dataclass
class Outcome:
    """What happened to one offered event."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    id: str | None = None
    source: str | None = None
    errors: list[FieldError] = field(default_factory=list)
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


def _attribute(raw: Any, name: str) -> str | None:
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


class Intake:
    """The one path by which an event enters the pipeline."""

    def __init__(self, publisher: EventPublisher, seen: SeenEvents, people: PersonIndex, pseudonym_key: bytes):
        self._publisher = publisher
        self._seen = seen
        self._people = people
        self._key = pseudonym_key

    async def offer(self, raws: list[Any], route: str, source_prefix: str | None = None) -> list[Outcome]:
        """Validate and publish events; each gets an outcome in input order."""
        outcomes: list[Outcome] = []
        valid: list[tuple[Outcome, HouseholdEvent]] = []
        for index, raw in enumerate(raws):
            outcome = Outcome(index, "rejected", _attribute(raw, "id"), _attribute(raw, "source"))
            outcomes.append(outcome)
            try:
                event = validate_event(raw, self._key)
            except InvalidEvent as exc:
                outcome.errors = exc.errors
                continue
            if source_prefix is not None and not source_allowed(event.source, source_prefix):
                outcome.errors = [FieldError("source", f"this key may only publish sources under {source_prefix}")]
                outcome.forbidden = True
                continue
            valid.append((outcome, event))
        await self._publish_new(valid)
        for outcome in outcomes:
            EVENTS.labels(route, outcome.status).inc()
        return outcomes

    async def _publish_new(self, valid: list[tuple[Outcome, HouseholdEvent]]) -> None:
        pairs = [(event.source, event.id) for _, event in valid]
        already = await self._seen.seen(pairs)
        fresh: list[tuple[Outcome, HouseholdEvent]] = []
        in_batch: set[tuple[str, str]] = set()
        for (outcome, event), pair, was_seen in zip(valid, pairs, already, strict=True):
            if was_seen or pair in in_batch:
                outcome.status = "duplicate"
                continue
            in_batch.add(pair)
            fresh.append((outcome, event))
            outcome.status = "accepted"
        matched, unmatched = await self._match_people([event for _, event in fresh])
        await self._publisher.publish(matched)
        await self._publisher.keep_unmatched(unmatched)
        for event in unmatched:
            await self._people.keep_unmatched(event)
        kept = {event.key for event in unmatched}
        for outcome, event in fresh:
            if event.key in kept:
                outcome.note = "the person matches no registered household yet: kept (pseudonymised) until one is"
        await self._seen.remember([(event.source, event.id) for _, event in fresh])
        for event in matched:
            if members_of(event):
                await self._join_waiting_records(event)

    async def _match_people(self, events: list[HouseholdEvent]) -> tuple[list[HouseholdEvent], list[HouseholdEvent]]:
        """Resolve person-level events to households; those matching none are returned apart."""
        people = [event.person for event in events if event.person]
        households = dict(zip(people, await self._people.households_of(people), strict=True))
        matched, unmatched = [], []
        for event in events:
            household = households.get(event.person) if event.person else None
            if event.person is None:
                matched.append(event)
            elif household is None:
                unmatched.append(event)
            else:
                matched.append(event.matched_to(household))
        return matched, unmatched

    async def _join_waiting_records(self, registration: HouseholdEvent) -> None:
        """After a registration, earlier records of its people join the household."""
        for person in await self._people.register(registration):
            waiting = await self._people.waiting_records(person)
            if waiting:
                await self._publisher.publish([record.matched_to(registration.household_id) for record in waiting])
                await self._people.release(person, [record.key for record in waiting])
