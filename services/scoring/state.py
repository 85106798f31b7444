"""Per-household state built from events; every update is idempotent per event id."""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

import msgspec
import zstandard

from services.common.events import HouseholdEvent
from services.common.months import month_shift
from services.scoring.facts import (
    Application,
    DisasterLoss,
    Fact,
    IncomeReport,
    MedicalBill,
    Registration,
    SchoolingBill,
    fact_of,
)

KEPT_MONTHS = 24  # two years: the 12-month window and the year before it (income-drop comparisons)
STORED_COMPRESSION = 1  # zstd level of a stored state (levels 1-3 store the same size; 1 is the fastest)
# What a stored state is compressed against (a raw-content zstd dictionary; before, zlib's preset dictionary): the
# JSON a state repeats, the commonest last. It must never change (stored states cannot be read without it): 2 KB of
# JSON becomes ~0.27 KB (zlib: ~0.3 KB; nothing: ~0.5 KB).
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
_BOOKS = {
    "medical.expense.incurred": "medical",
    "disaster.loss.reported": "disasters",
    "education.expense.incurred": "schooling",
}
_DATED_BOOKS = ("medical", "disasters", "applications", "schooling")
_NOT_FIGURES = frozenset({"household_id", "date", "member_id", "reason"})


class Profile(msgspec.Struct, kw_only=True, omit_defaults=True):
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


class MonthlyIncome(msgspec.Struct):
    """One month's net income from one source; a later report (by event time) replaces it."""

    amount: float
    reported_at: datetime
    event_key: str


class Happening(msgspec.Struct):
    """A dated event kept for its figures (medical bills, disasters, applications)."""

    date: str
    figures: dict[str, Any] = msgspec.field(default_factory=dict)


class HouseholdState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Everything scoring remembers about one household (never changed in place: apply_event makes a new one)."""

    profile: Profile | None = None
    incomes: dict[str, MonthlyIncome] = msgspec.field(default_factory=dict)  # "YYYY-MM|source", a year: "YYYY|source"
    medical: dict[str, Happening] = msgspec.field(default_factory=dict)  # by event key (source#id)
    disasters: dict[str, Happening] = msgspec.field(default_factory=dict)
    applications: dict[str, Happening] = msgspec.field(default_factory=dict)
    unscored_events: list[str] = msgspec.field(default_factory=list)  # ids applied since the last score
    last_fingerprint: str | None = None
    latest_month: str | None = None
    # Household size from each month on (month → members), kept once a registration changed it; else empty.
    members_from: dict[str, int] = msgspec.field(default_factory=dict)
    monitored: str = ""  # "{model version}|{YYYY-MM}" of its latest score carrying drift bins (one a month)
    schooling: dict[str, Happening] = msgspec.field(default_factory=dict)  # schooling costs, by event key

    def reference_month(self) -> str | None:
        """The month the 12-month window ends in: the latest month any applied event of the household is about."""
        return self.latest_month

    def members_in(self, month: str) -> int:
        """The household's size in `month` as registered then (the earliest known size before any record)."""
        if not self.members_from:
            return self.profile.members if self.profile else 1
        known = [since for since in self.members_from if since <= month]
        return self.members_from[max(known) if known else min(self.members_from)]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(HouseholdState)
_ZSTD_DICTIONARY = zstandard.ZstdCompressionDict(STORED_DICTIONARY, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
_ZSTD_DICTIONARY.precompute_compress(level=STORED_COMPRESSION)  # loaded once, not at every state (half the cost)
# Not thread-safe: states are encoded and decoded on the worker's event loop only.
_COMPRESSOR = zstandard.ZstdCompressor(dict_data=_ZSTD_DICTIONARY, write_checksum=False, write_dict_id=False)
_DECOMPRESSOR = zstandard.ZstdDecompressor(dict_data=_ZSTD_DICTIONARY)
_ZSTD_FRAME = b"\x28\xb5\x2f\xfd"


def encode_state(state: HouseholdState) -> bytes:
    """The state as the households table and its changelog keep it: JSON compressed by zstd."""
    return _COMPRESSOR.compress(_ENCODER.encode(state))


def decode_state(stored: bytes | None) -> HouseholdState:
    """A state read back from the table (a new household when there is none); earlier zlib and plain JSON too."""
    if not stored:
        return HouseholdState()
    if stored[:4] == _ZSTD_FRAME:
        return _DECODER.decode(_DECOMPRESSOR.decompress(stored))
    if stored[:1] == b"{":
        return _DECODER.decode(stored)
    decompressor = zlib.decompressobj(zdict=STORED_DICTIONARY)  # written before zstd: still read, never written
    return _DECODER.decode(decompressor.decompress(stored) + decompressor.flush())


def _profile(data: Registration, fact: Fact) -> Profile:
    return Profile(
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
        registered_at=fact.time,
        event_key=fact.key,
    )


def _figures(data: MedicalBill | DisasterLoss | SchoolingBill | Application) -> dict[str, Any]:
    return {
        name: value
        for name, value in msgspec.structs.asdict(data).items()
        if name not in _NOT_FIGURES and value is not None
    }


def _changed(state: HouseholdState, fact: Fact) -> dict[str, Any] | None:
    """The fields the fact changes (None: it changes nothing, e.g. a redelivery or an older correction)."""
    data = fact.data
    if isinstance(data, Registration):
        current = state.profile
        if current is not None and (fact.time, fact.key) < (current.registered_at, current.event_key):
            return None
        profile = _profile(data, fact)
        if profile == current:
            return None
        if current is None or current.members == profile.members:
            return {"profile": profile}
        sizes = dict(state.members_from) or {current.registered_at.strftime("%Y-%m"): current.members}
        sizes[fact.time.strftime("%Y-%m")] = profile.members
        return {"profile": profile, "members_from": sizes}
    if isinstance(data, IncomeReport):
        key = f"{data.period}|{data.income_source}"
        known = state.incomes.get(key)
        if known is not None and (fact.time, fact.key) < (known.reported_at, known.event_key):
            return None
        income = MonthlyIncome(float(data.amount), fact.time, fact.key)
        return None if income == known else {"incomes": {**state.incomes, key: income}}
    name = _BOOKS.get(fact.type, "applications")
    book: dict[str, Happening] = getattr(state, name)
    if fact.key in book:
        return None
    return {name: {**book, fact.key: Happening(data.date, _figures(data))}}


def apply_event(state: HouseholdState, event: HouseholdEvent | Fact) -> HouseholdState:
    """Return the state after `event`; applying the same event twice changes nothing (the same state is returned)."""
    fact = fact_of(event)
    changes = _changed(state, fact)
    if changes is None:
        return state
    month = _month_of(fact)
    latest = max(month, state.latest_month) if state.latest_month else month
    changes["latest_month"] = latest
    if fact.key not in state.unscored_events:
        changes["unscored_events"] = [*state.unscored_events, fact.key]
    new = msgspec.structs.replace(state, **changes)
    keep_from = month_shift(latest, -(KEPT_MONTHS - 1))
    # Something falls out of the kept months only when the latest month moves on, or the event is older than them.
    return _pruned(new, keep_from) if latest != state.latest_month or month < keep_from else new


def _pruned(state: HouseholdState, keep_from: str) -> HouseholdState:
    """Drop incomes and dated events before month `keep_from` (bounded state per household); copies what it trims."""
    if state.incomes and _last_month(min(state.incomes)) < keep_from:  # keys sort as the months they end with
        state.incomes = {key: value for key, value in state.incomes.items() if _last_month(key) >= keep_from}
    older = [since for since in state.members_from if since < keep_from]
    if len(older) > 1:  # the size in force at keep_from stays
        state.members_from = {since: n for since, n in state.members_from.items() if since >= max(older)}
    for name in _DATED_BOOKS:
        book: dict[str, Happening] = getattr(state, name)
        if book and min(h.date for h in book.values())[:7] < keep_from:
            setattr(state, name, {key: h for key, h in book.items() if h.date[:7] >= keep_from})
    return state


def _last_month(income_key: str) -> str:
    """The last month an income key ("YYYY-MM|source" or a year's "YYYY|source") covers."""
    period = income_key.partition("|")[0]
    return f"{period}-12" if len(period) == 4 else period


def _month_of(fact: Fact) -> str:
    """The month an event is about: its income period (a year: its last month), its date, else its time."""
    data = fact.data
    if isinstance(data, IncomeReport):
        return f"{data.period}-12" if len(data.period) == 4 else data.period
    if isinstance(data, MedicalBill | DisasterLoss | SchoolingBill | Application):
        return data.date[:7]
    return fact.time.strftime("%Y-%m")
