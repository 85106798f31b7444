"""Per-household state built from events; every update is idempotent per event id."""

from __future__ import annotations

import zlib
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.events import (
    AssistanceRequested,
    DisasterLossReported,
    HouseholdEvent,
    HouseholdRegistered,
    IncomeReported,
    MedicalExpenseIncurred,
)

KEPT_MONTHS = 24  # two years: the 12-month window and the year before it (income-drop comparisons)
STORED_COMPRESSION = 1  # zlib level of a stored state; level 6 saves another 10 % at twice the time
# What a stored state is compressed against (zlib's preset dictionary): the JSON a state repeats, the commonest
# last. It must never change (stored states name it by checksum and cannot be read without it): 2.5 KB of JSON
# becomes ~0.3 KB, against ~0.5 KB without it.
STORED_DICTIONARY = (
    b'{"profile":{"region_code":"","members":,"labourers":,"category":"poverty_exited","ordinary","monitored",'
    b'"annual_net_income":.0,"disabled_members":0,"chronic_ill_members":0,"students":0,"housing_safe":true,'
    b'"water_safe":true,"registered_at":"T00:00:00Z","event_key":"/civil-affairs/#evt-"},'
    b'"medical":{"#":{"date":"","figures":{"amount":.0,"reimbursed":.0,"illness":"chronic","critical"}}},'
    b'"disasters":{"#":{"date":"","figures":{"hazard":"flood","drought","house_damage":"none","minor","severe",'
    b'"loss":.0}}},"applications":{},"unscored_events":[],"last_fingerprint":"green||red|yellow|.00|.0|0.00|None",'
    b'"latest_month":"20","incomes":{"|agriculture":{"amount":.0,"reported_at":"","event_key":""},'
    b'"|business":{"amount":.0,"reported_at":"","event_key":""},'
    b'"20-|wage":{"amount":.0,"reported_at":"20-28T:00:00+08:00","event_key":"/civil-affairs/#evt-"},'
    b'"20-|wage":{"amount":.0,"reported_at":"20-28T:00:00+08:00","event_key":"/civil-affairs/#evt-"},'
)


class Profile(BaseModel):
    """The latest registration (by event time)."""

    region_code: str
    members: int
    labourers: int
    category: str
    annual_net_income: float
    disabled_members: int = 0
    chronic_ill_members: int = 0
    students: int = 0
    housing_safe: bool = True
    water_safe: bool = True
    registered_at: datetime
    event_key: str


class MonthlyIncome(BaseModel):
    """One month's net income from one source; a later report (by event time) replaces it."""

    amount: float
    reported_at: datetime
    event_key: str


class Happening(BaseModel):
    """A dated event kept for its figures (medical bills, disasters, applications)."""

    date: str
    figures: dict[str, Any] = Field(default_factory=dict)


class HouseholdState(BaseModel):
    """Everything scoring remembers about one household."""

    model_config = ConfigDict(validate_assignment=False)

    profile: Profile | None = None
    incomes: dict[str, MonthlyIncome] = Field(default_factory=dict)  # "YYYY-MM|source"
    medical: dict[str, Happening] = Field(default_factory=dict)  # by event key (source#id)
    disasters: dict[str, Happening] = Field(default_factory=dict)
    applications: dict[str, Happening] = Field(default_factory=dict)
    unscored_events: list[str] = Field(default_factory=list)  # ids applied since the last score
    last_fingerprint: str | None = None
    latest_month: str | None = None

    def reference_month(self) -> str | None:
        """The month the 12-month window ends in: the latest month any applied event of the household is about."""
        return self.latest_month

    def pruned(self, keep_from: str) -> HouseholdState:
        """Drop incomes and dated events before month `keep_from` (bounded state per household)."""
        self.incomes = {key: value for key, value in self.incomes.items() if key[:7] >= keep_from}
        for name in ("medical", "disasters", "applications"):
            book: dict[str, Happening] = getattr(self, name)
            setattr(self, name, {key: h for key, h in book.items() if h.date[:7] >= keep_from})
        return self


def encode_state(state: HouseholdState) -> bytes:
    """The state as the households table and its changelog keep it: compressed JSON."""
    compressor = zlib.compressobj(STORED_COMPRESSION, zdict=STORED_DICTIONARY)
    return compressor.compress(state.model_dump_json().encode()) + compressor.flush()


def decode_state(stored: bytes | None) -> HouseholdState:
    """A state read back from the table (a new household when there is none); plain JSON is read too."""
    if not stored:
        return HouseholdState()
    if stored[:1] == b"{":
        return HouseholdState.model_validate_json(stored)
    decompressor = zlib.decompressobj(zdict=STORED_DICTIONARY)
    return HouseholdState.model_validate_json(decompressor.decompress(stored) + decompressor.flush())


def apply_event(state: HouseholdState, event: HouseholdEvent) -> HouseholdState:
    """Return the state after `event`; applying the same event twice changes nothing."""
    new = state.model_copy()  # shallow: every book touched below is copied before it changes
    data = event.data
    changed = False
    if isinstance(data, HouseholdRegistered):
        current = new.profile
        if current is None or (event.time, event.key) >= (current.registered_at, current.event_key):
            new.profile = Profile(
                region_code=data.region_code,
                members=data.members,
                labourers=data.labourers,
                category=data.category,
                annual_net_income=float(data.annual_net_income),
                disabled_members=data.disabled_members or 0,
                chronic_ill_members=data.chronic_ill_members or 0,
                students=data.students or 0,
                housing_safe=data.housing_safe is not False,
                water_safe=data.water_safe is not False,
                registered_at=event.time,
                event_key=event.key,
            )
            changed = new.profile != current
    elif isinstance(data, IncomeReported):
        key = f"{data.period}|{data.income_source}"
        new.incomes = dict(state.incomes)
        current_income = new.incomes.get(key)
        if current_income is None or (event.time, event.key) >= (current_income.reported_at, current_income.event_key):
            new.incomes[key] = MonthlyIncome(amount=float(data.amount), reported_at=event.time, event_key=event.key)
            changed = new.incomes[key] != current_income
    elif isinstance(data, MedicalExpenseIncurred | DisasterLossReported | AssistanceRequested):
        name = {MedicalExpenseIncurred: "medical", DisasterLossReported: "disasters"}.get(type(data), "applications")
        book: dict[str, Happening] = dict(getattr(state, name))
        setattr(new, name, book)
        if event.key not in book:
            figures = data.model_dump(mode="json", exclude={"household_id", "date", "member_id", "reason"})
            book[event.key] = Happening(date=data.date.isoformat(), figures=figures)
            changed = True
    if not changed:
        return state
    month = _month_of(event)
    new.latest_month = max(month, state.latest_month) if state.latest_month else month
    if event.key not in new.unscored_events:
        new.unscored_events = [*state.unscored_events, event.key]
    end = new.reference_month()
    return new.pruned(month_shift(end, -(KEPT_MONTHS - 1))) if end else new


def _month_of(event: HouseholdEvent) -> str:
    """The month an event is about: the income period, the date of a bill or disaster, else its time."""
    data = event.data
    if isinstance(data, IncomeReported):
        return data.period
    if isinstance(data, MedicalExpenseIncurred | DisasterLossReported | AssistanceRequested):
        return data.date.isoformat()[:7]
    return event.time.strftime("%Y-%m")


@lru_cache(maxsize=4096)
def month_shift(month: str, delta: int) -> str:
    """`YYYY-MM` moved by `delta` months."""
    year, number = int(month[:4]), int(month[5:7])
    index = year * 12 + (number - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
