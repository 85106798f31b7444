"""An accepted event as ingest handles it: its identity, routing facts and canonical JSON (HouseholdEvent.to_json)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from msgspec.structs import replace

from services.common.events import HouseholdEvent, HouseholdRegistered


def dump(doc: dict[str, Any]) -> bytes:
    """Canonical JSON text: compact, UTF-8, as HouseholdEvent.to_json writes it."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class CanonicalEvent(msgspec.Struct, frozen=True, gc=False):
    """A validated, pseudonymised event ready for `events.canonical` (or, unmatched, for `persons.unmatched`)."""

    id: str
    source: str
    type: str
    household_id: str | None  # None: a person-level record not matched to a household yet
    person: str | None  # the pseudonymised person of such a record
    region_code: str | None  # the registration's region, or where an unmatched person lives
    members: frozenset[str]  # the pseudonymised people a registration names
    body: bytes

    @property
    def key(self) -> str:
        """The event's identity: ids are unique per source."""
        return f"{self.source}#{self.id}"

    def matched_to(self, household_id: str) -> CanonicalEvent:
        """This person-level record, now belonging to `household_id` (the first data field, as the model orders)."""
        doc = json.loads(self.body)
        doc["data"] = {"household_id": household_id, **{k: v for k, v in doc["data"].items() if k != "household_id"}}
        return replace(self, household_id=household_id, person=None, body=dump(doc))

    @classmethod
    def of(cls, event: HouseholdEvent) -> CanonicalEvent:
        """From a validated HouseholdEvent."""
        data = event.data
        members: frozenset[str] = frozenset()
        if isinstance(data, HouseholdRegistered):
            members = frozenset(person for person in [data.head_id, *(data.member_ids or [])] if person)
        region = data.__dict__.get("region_code")  # not every event type has the field
        return cls(
            event.id, event.source, event.type, data.household_id, event.person, region, members, event.to_json()
        )

    @classmethod
    def from_json(cls, raw: bytes) -> CanonicalEvent:
        """Read canonical JSON back (records kept for a person who matched no household yet)."""
        return replace(cls.of(HouseholdEvent.from_json(raw)), body=raw)
