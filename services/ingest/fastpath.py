"""Compiled validation (msgspec) of the common, plainly written events: the batch path's speed.

An event is taken here only when it is certainly valid under the reference path (validation.validate_event) and
comes out byte for byte as that path writes it (the four common types, and schooling costs, which an education bureau
pushes for every student at once); anything else (an error, an unusual spelling, non-ASCII text,
`assistance.requested`) returns None and goes through the reference path, which names each offending field.

Each struct here is the contract's model (services/common/events.py) field for field: names, order, JSON types,
defaults and the words of each enumeration (imported from the contract); tests/unit/test_contract_fields.py checks it.
"""

from __future__ import annotations

import functools
import operator
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from services.common.events import EventType, Hazard, HouseDamage, HouseholdCategory, Illness, IncomeSource, SchoolStage
from services.common.identity import check_digit, holds_resident_id, pseudonymise
from services.common.money import MAX_YUAN
from services.ingest.canonical import CanonicalEvent
from services.ingest.screening import Bounds, EventWindow, epoch_microseconds

# Patterns are checked here after decoding, not by msgspec (which calls `re` for each field: 2.7 of its 3.9 µs an
# income), and months and days once per distinct text.
HouseholdId = str  # _HOUSEHOLD_ID
RegionCode = str  # _REGION
Month = str  # _MONTH
Day = str  # _DAY
_HOUSEHOLD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
Count = Annotated[int, Meta(ge=0)]
Money = int | float  # written back as a float, as the model's serializer does
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})")
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9X]")


class RegisteredData(Struct, forbid_unknown_fields=True, kw_only=True, gc=False, omit_defaults=True):
    """household.registered's data."""

    household_id: HouseholdId  # first, as in the models (the canonical JSON keeps their field order)
    region_code: RegionCode
    members: Annotated[int, Meta(ge=1, le=30)]
    labourers: Count
    category: HouseholdCategory
    annual_net_income: Money
    disabled_members: Count | None = None
    chronic_ill_members: Count | None = None
    students: Count | None = None
    housing_safe: bool | None = None
    water_safe: bool | None = None
    head_id: str | None = None
    member_ids: Annotated[list[str], Meta(max_length=30)] | None = None


class IncomeData(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):  # income_source is always written
    """income.reported's data (a month's; a whole year's goes the reference path)."""

    household_id: HouseholdId
    period: Month
    amount: Money
    income_source: IncomeSource = "other"


class MedicalData(Struct, forbid_unknown_fields=True, kw_only=True, gc=False, omit_defaults=True):
    """medical.expense.incurred's data."""

    household_id: HouseholdId | None = None
    region_code: RegionCode | None = None
    date: Day
    total_cost: Money
    out_of_pocket: Money
    member_id: str | None = None
    illness: Illness | None = None
    inpatient: bool | None = None


class DisasterData(Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    """disaster.loss.reported's data."""

    household_id: HouseholdId
    date: Day
    hazard: Hazard
    house_damage: HouseDamage
    economic_loss: Money


class EducationData(Struct, forbid_unknown_fields=True, kw_only=True, gc=False, omit_defaults=True):
    """education.expense.incurred's data."""

    household_id: HouseholdId
    date: Day
    total_cost: Money
    out_of_pocket: Money
    stage: SchoolStage | None = None


class Envelope(Struct, forbid_unknown_fields=True, kw_only=True, gc=False, tag_field="type"):
    """The CloudEvents attributes (`type` is the tag that picks the data struct, `data` is each type's own)."""

    specversion: Literal["1.0"]
    id: Annotated[str, Meta(min_length=1, max_length=128)]
    source: Annotated[str, Meta(min_length=1, max_length=256)]
    time: str
    subject: str | None = None
    datacontenttype: Literal["application/json"] | None = None


DATA_STRUCTS: dict[EventType, type[Struct]] = {  # the event types the fast path takes
    "household.registered": RegisteredData,
    "income.reported": IncomeData,
    "medical.expense.incurred": MedicalData,
    "disaster.loss.reported": DisasterData,
    "education.expense.incurred": EducationData,
}
_TYPES: dict[type, EventType] = {  # each type's envelope: its name is the tag, its data the type's struct
    msgspec.defstruct(f"Envelope[{name}]", [("data", data)], bases=(Envelope,), tag=name): name
    for name, data in DATA_STRUCTS.items()
}
_DECODER: msgspec.json.Decoder[Any] = msgspec.json.Decoder(functools.reduce(operator.or_, _TYPES))
_ENCODER = msgspec.json.Encoder()
_MAX_MONEY = int(MAX_YUAN)
_MAX_MONEY_FLOAT = float(MAX_YUAN)
_LONG_NUMBER = re.compile(r"[0-9]{17}")  # 17 digits in a row: maybe a resident ID, looked at closer
_NOBODY: frozenset[str] = frozenset()
_Routing = tuple[str | None, str | None, frozenset[str]]  # an event's person, region code and members


class _Decline(Exception):
    """Not for the fast path: the reference path decides."""


def format_time(value: datetime) -> str:
    """An aware datetime as the canonical topic writes it (pydantic's JSON form: `Z` for UTC)."""
    text = f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class FastPath:
    """Validates, screens and pseudonymises plainly written events straight from their JSON bytes."""

    def __init__(self, pseudonym_key: bytes, window: EventWindow):
        self._key = pseudonym_key
        self._window = window
        self._times: dict[str, tuple[int, str]] = {}
        self._months: set[str] = set()
        self._days: dict[str, date] = {}

    def event(self, raw: bytes, bounds: Bounds, accepted_at: str) -> CanonicalEvent | None:
        """The canonical event of `raw` when it is plainly valid, else None (the reference path decides)."""
        try:
            envelope = _DECODER.decode(raw)
            return self._canonical(envelope, bounds, accepted_at)
        except (msgspec.ValidationError, msgspec.DecodeError, _Decline, ValueError):
            return None

    def _time(self, text: str) -> tuple[int, str]:
        """The time (epoch microseconds) and its canonical spelling, remembered: a batch's events share a few
        times, and comparing aware datetimes of different offsets costs microseconds; never too early."""
        known = self._times.get(text)
        if known is None:
            if not _TIME.fullmatch(text):
                raise _Decline
            value = datetime.fromisoformat(text)
            if value.date() < self._window.earliest:
                raise _Decline
            known = (epoch_microseconds(value), format_time(value))
            if len(self._times) > 4096:
                self._times.clear()
            self._times[text] = known
        return known

    def _month(self, text: str) -> str:
        """A `YYYY-MM` period, checked once per distinct text."""
        if text not in self._months:
            if not _MONTH.fullmatch(text):
                raise _Decline
            if len(self._months) > 4096:
                self._months.clear()
            self._months.add(text)
        return text

    def _day(self, text: str) -> date:
        """A `YYYY-MM-DD` date, read once per distinct text."""
        known = self._days.get(text)
        if known is None:
            if not _DAY.fullmatch(text):
                raise _Decline
            known = date.fromisoformat(text)
            if len(self._days) > 4096:
                self._days.clear()
            self._days[text] = known
        return known

    def _person(self, value: str) -> str:
        normalised = value.strip().upper()
        if (
            not (value.isascii() and _RESIDENT_ID.fullmatch(normalised))
            or check_digit(normalised[:17]) != normalised[17]
        ):
            raise _Decline  # a pseudonym sent in, or an invalid number: the reference path says why
        return pseudonymise(normalised, self._key)

    def _canonical(self, envelope: Any, bounds: Bounds, accepted_at: str) -> CanonicalEvent:
        event_id, source, subject, data = envelope.id, envelope.source, envelope.subject, envelope.data
        household = data.household_id
        if household is not None and not _HOUSEHOLD_ID.fullmatch(household):
            raise _Decline
        if not (event_id.isascii() and source.isascii() and event_id.isprintable() and source.isprintable()):
            raise _Decline
        if " " in source or (subject is not None and subject != household):
            raise _Decline
        long_number = _LONG_NUMBER.search
        if (long_number(event_id) or long_number(source) or (household and long_number(household))) and (
            holds_resident_id(f"{event_id}\n{source}\n{household or ''}")
        ):
            raise _Decline
        time, time_text = self._time(envelope.time)
        if time > bounds.latest_microsecond:
            raise _Decline
        person, region, members = _CHECKS[type(data)](self, data, bounds)
        event_type = _TYPES[type(envelope)]
        doc = {"id": event_id, "source": source, "type": event_type, "time": time_text, "accepted_at": accepted_at}
        doc["data"] = data
        return CanonicalEvent(event_id, source, event_type, household, person, region, members, _ENCODER.encode(doc))

    def _registered(self, data: RegisteredData, bounds: Bounds) -> _Routing:
        members = data.members
        if data.labourers > members:
            raise _Decline
        for count in (data.disabled_members, data.chronic_ill_members, data.students):
            if count is not None and count > members:
                raise _Decline
        _region(data.region_code)
        data.annual_net_income = _money(data.annual_net_income)
        if data.head_id is None and data.member_ids is None:
            return None, data.region_code, _NOBODY
        if data.head_id is not None:
            data.head_id = self._person(data.head_id)
        if data.member_ids is not None:
            data.member_ids = [self._person(member) for member in data.member_ids]
        return None, data.region_code, frozenset(p for p in [data.head_id, *(data.member_ids or ())] if p)

    def _income(self, data: IncomeData, bounds: Bounds) -> _Routing:
        if not bounds.earliest_month <= self._month(data.period) <= bounds.latest_month:
            raise _Decline
        data.amount = _money(data.amount)
        return None, None, _NOBODY

    def _medical(self, data: MedicalData, bounds: Bounds) -> _Routing:
        if not bounds.earliest_day <= self._day(data.date) <= bounds.latest_day:
            raise _Decline
        if data.region_code is not None:
            _region(data.region_code)
        data.total_cost, data.out_of_pocket = _money(data.total_cost), _money(data.out_of_pocket)
        if data.out_of_pocket > data.total_cost or (data.household_id is None and data.member_id is None):
            raise _Decline
        if data.member_id is not None:
            data.member_id = self._person(data.member_id)
        return (data.member_id if data.household_id is None else None), data.region_code, _NOBODY

    def _disaster(self, data: DisasterData, bounds: Bounds) -> _Routing:
        if not bounds.earliest_day <= self._day(data.date) <= bounds.latest_day:
            raise _Decline
        data.economic_loss = _money(data.economic_loss)
        return None, None, _NOBODY

    def _education(self, data: EducationData, bounds: Bounds) -> _Routing:
        if not bounds.earliest_day <= self._day(data.date) <= bounds.latest_day:
            raise _Decline
        data.total_cost, data.out_of_pocket = _money(data.total_cost), _money(data.out_of_pocket)
        if data.out_of_pocket > data.total_cost:
            raise _Decline
        return None, None, _NOBODY


def _region(code: str) -> None:
    """A region code is twelve ASCII digits."""
    if not (len(code) == 12 and code.isascii() and code.isdigit()):
        raise _Decline


def _money(value: int | float) -> float:
    """The amount as the canonical topic writes it (a float); declines what the reference might refuse.

    A float is taken when it is the float nearest some amount in cents, i.e. when its shortest spelling has at most
    two decimals (below 2**53 cents the product and quotient are exact enough; NaN and infinities fail the range).
    """
    if isinstance(value, int):
        if 0 <= value <= _MAX_MONEY:
            return float(value)
        raise _Decline
    if 0.0 <= value <= _MAX_MONEY_FLOAT and round(value * 100.0) / 100.0 == value:
        return value
    raise _Decline


_CHECKS: dict[type, Any] = {
    RegisteredData: FastPath._registered,
    IncomeData: FastPath._income,
    MedicalData: FastPath._medical,
    DisasterData: FastPath._disaster,
    EducationData: FastPath._education,
}
