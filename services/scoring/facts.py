"""Scoring's view of a canonical event: decoded with msgspec, trusting ingest's validation at the edge.

Each struct is the contract's model (services/common/events.py) field for field: names, order, JSON types and defaults,
an enumeration read as its text (tests/unit/test_contract_fields.py checks it)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from services.common.events import HouseholdEvent


class Registration(msgspec.Struct, kw_only=True):
    """household.registered (resident IDs already pseudonymised by ingest)."""

    household_id: str
    region_code: str
    members: int
    labourers: int
    category: str
    annual_net_income: float
    disabled_members: int | None = None
    chronic_ill_members: int | None = None
    students: int | None = None
    housing_safe: bool | None = None
    water_safe: bool | None = None
    head_id: str | None = None
    member_ids: list[str] | None = None


class IncomeReport(msgspec.Struct, kw_only=True):
    """income.reported: one month's (period YYYY-MM) or one whole year's (period YYYY) net income from one source."""

    household_id: str
    period: str
    amount: float
    income_source: str = "other"


class MedicalBill(msgspec.Struct, kw_only=True):
    """medical.expense.incurred; person-level (no household) until ingest matches it."""

    household_id: str | None = None
    region_code: str | None = None
    date: str
    total_cost: float
    out_of_pocket: float
    member_id: str | None = None
    illness: str | None = None
    inpatient: bool | None = None


class DisasterLoss(msgspec.Struct, kw_only=True):
    """disaster.loss.reported."""

    household_id: str
    date: str
    hazard: str
    house_damage: str
    economic_loss: float


class SchoolingBill(msgspec.Struct, kw_only=True):
    """education.expense.incurred: a student's schooling costs and what the household paid after education aid."""

    household_id: str
    date: str
    total_cost: float
    out_of_pocket: float
    stage: str | None = None


class Application(msgspec.Struct, kw_only=True):
    """assistance.requested: the household's own application."""

    household_id: str
    date: str
    reason: str


FactData = Registration | IncomeReport | MedicalBill | DisasterLoss | SchoolingBill | Application
FACT_TYPES: dict[str, type[FactData]] = {
    "household.registered": Registration,
    "income.reported": IncomeReport,
    "medical.expense.incurred": MedicalBill,
    "disaster.loss.reported": DisasterLoss,
    "assistance.requested": Application,
    "education.expense.incurred": SchoolingBill,
}
_DATA_DECODERS = {name: msgspec.json.Decoder(kind) for name, kind in FACT_TYPES.items()}


class CanonicalEnvelope(msgspec.Struct):
    """The fields of a canonical event (`HouseholdEvent`) scoring reads; `data` is decoded by its type."""

    id: str
    source: str
    type: str
    time: datetime
    data: msgspec.Raw


_ENVELOPE = msgspec.json.Decoder(CanonicalEnvelope)


class Fact(msgspec.Struct, frozen=True):
    """One canonical event as scoring applies it; `key` (source#id) is its identity."""

    key: str
    type: str
    time: datetime
    data: FactData

    @property
    def household_id(self) -> str | None:
        """The household the event is about (None for a person-level record not matched yet)."""
        return self.data.household_id

    @property
    def person(self) -> str | None:
        """The pseudonymised person of a person-level record that names no household."""
        data = self.data
        return data.member_id if isinstance(data, MedicalBill) and data.household_id is None else None


class UnreadableFact(ValueError):
    """A canonical message that does not decode; the message says why."""


def read_fact(raw: bytes) -> Fact:
    """Decode a canonical-topic message (ingest wrote it; it is not validated again)."""
    try:
        envelope = _ENVELOPE.decode(raw)
        decoder = _DATA_DECODERS.get(envelope.type)
        if decoder is None:
            raise UnreadableFact(f"unknown event type {envelope.type!r}")
        data = decoder.decode(envelope.data)
    except msgspec.DecodeError as exc:
        raise UnreadableFact(str(exc)) from exc
    return Fact(f"{envelope.source}#{envelope.id}", envelope.type, envelope.time, data)


def fact_of(event: HouseholdEvent | Fact) -> Fact:
    """The fact of a validated event (as ingest would write it); a fact is returned as it is."""
    return event if isinstance(event, Fact) else read_fact(event.to_json())
