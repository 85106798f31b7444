"""Edge rules on top of the v1 models: normalised identifiers, clean text, no resident IDs outside their fields,
plausible times.

They live in ingest, not in the shared models, so events accepted before a rule existed still parse downstream.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any

from services.common.identity import holds_resident_id
from services.common.months import last_day, month_of, month_shift

# Attributes and data fields that identify something: compared, keyed and matched, so written one way only.
ENVELOPE_IDENTIFIERS = ("id", "source", "subject")
DATA_IDENTIFIERS = ("household_id", "region_code", "head_id", "member_id")
FREE_TEXT = ("reason",)  # data fields written by people
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TEXT_WHITESPACE = frozenset("\t\n\r")
RESIDENT_ID_REASON = "contains a resident ID number: those belong only in head_id, member_ids or member_id"


def _nfkc(value: Any) -> Any:
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) and not value.isascii() else value


def normalised(raw: dict[str, Any]) -> dict[str, Any]:
    """The event with its identifiers in NFKC form (fullwidth letters and digits become ASCII); others as sent."""
    event = {**raw, **{name: _nfkc(raw[name]) for name in ENVELOPE_IDENTIFIERS if name in raw}}
    data = raw.get("data")
    if isinstance(data, dict):
        data = {**data, **{name: _nfkc(data[name]) for name in DATA_IDENTIFIERS if name in data}}
        if isinstance(data.get("member_ids"), list):
            data["member_ids"] = [_nfkc(member) for member in data["member_ids"]]
        event["data"] = data
    return event


def _bad_character(text: str, free_text: bool) -> str | None:
    """Why `text` may not be stored as sent, if a character in it is invisible, a control or not Unicode."""
    if text.isascii():
        if text.isprintable() or (free_text and all(c.isprintable() or c in _TEXT_WHITESPACE for c in text)):
            return None
        return "must not contain control characters"
    for character in text:
        category = unicodedata.category(character)
        if category == "Cs":
            return "must be valid Unicode (a lone surrogate is not)"
        if character in _BIDI_CONTROLS:
            return "must not contain bidirectional overrides or marks"
        if category == "Cc" and not (free_text and character in _TEXT_WHITESPACE):
            return "must not contain control characters"
        if category == "Cf" and not free_text:
            return "must not contain invisible formatting characters (zero-width, soft hyphen)"
    return None


def text_problem(value: Any, free_text: bool = False) -> str | None:
    """Why an identifier (or, with `free_text`, a person's text) is refused at the edge, or None."""
    if not isinstance(value, str):
        return None
    return _bad_character(value, free_text) or (RESIDENT_ID_REASON if holds_resident_id(value) else None)


def text_problems(event: dict[str, Any]) -> dict[str, str]:
    """{field: reason} for every identifier or text field of a (normalised) raw event that may not be stored."""
    problems = {name: text_problem(event.get(name)) for name in ENVELOPE_IDENTIFIERS}
    data = event.get("data")
    if isinstance(data, dict):
        problems.update({f"data.{name}": text_problem(data.get(name), True) for name in FREE_TEXT})
        problems["data.household_id"] = text_problem(data.get("household_id"))
        for name in ("region_code", "period"):
            value = data.get(name)
            if isinstance(value, str) and not value.isascii():
                problems[f"data.{name}"] = "must be written in ASCII digits"
    return {name: reason for name, reason in problems.items() if reason}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Bounds:
    """The plausible window at one moment: what a batch of events is checked against."""

    latest_time: datetime  # an event's `time` after this lies in the future
    earliest_day: date
    latest_day: date
    earliest_month: str  # YYYY-MM
    latest_month: str

    @cached_property
    def latest_microsecond(self) -> int:
        """`latest_time` in microseconds since the epoch (integers compare exactly, and faster than datetimes)."""
        return epoch_microseconds(self.latest_time)


def epoch_microseconds(value: datetime) -> int:
    """An aware datetime as whole microseconds since 1970-01-01 UTC."""
    return (value - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class EventWindow:
    """When an event may plausibly have happened: not before `earliest`, not after `months_ahead` months from
    now (dates and periods), and its `time` not more than `skew` after the ingest clock."""

    earliest: date
    months_ahead: int
    skew: timedelta

    def bounds(self, now: datetime) -> Bounds:
        """The window's limits at `now`."""
        latest = month_shift(month_of(now), self.months_ahead)
        return Bounds(now + self.skew, self.earliest, last_day(latest), month_of(self.earliest), latest)

    def time_problem(self, value: datetime, now: datetime) -> str | None:
        """Why an event's `time` is implausible, or None."""
        if value.date() < self.earliest:
            return f"must not be before {self.earliest.isoformat()}"
        if value > self.bounds(now).latest_time:
            minutes = f"{self.skew.total_seconds() / 60:g}"
            return f"must not be in the future (ingest's clock: {now:%Y-%m-%dT%H:%M}Z, {minutes} minutes' tolerance)"
        return None

    def date_problem(self, value: date, now: datetime) -> str | None:
        """Why a `date` field is implausible, or None."""
        bounds = self.bounds(now)
        if value < bounds.earliest_day:
            return f"must not be before {bounds.earliest_day.isoformat()}"
        if value > bounds.latest_day:
            return f"must not be after {bounds.latest_day.isoformat()}"
        return None

    def month_problem(self, value: str, now: datetime) -> str | None:
        """Why a `period` (a month YYYY-MM, or a whole year YYYY) is implausible, or None."""
        bounds = self.bounds(now)
        if len(value) == 4:  # a year: plausible when its first month is not after the latest, nor it ends before
            if value < bounds.earliest_month[:4]:
                return f"must not be before {bounds.earliest_month[:4]}"
            return f"must not be after {bounds.latest_month[:4]}" if value > bounds.latest_month[:4] else None
        if value < bounds.earliest_month:
            return f"must not be before {bounds.earliest_month}"
        if value > bounds.latest_month:
            return f"must not be after {bounds.latest_month}"
        return None

    def problems(self, time: datetime, data: Any, now: datetime | None = None) -> dict[str, str]:
        """{field: reason} for each implausible time of a validated event."""
        now = now or datetime.now(UTC)
        fields = data.__dict__  # the model's values (not every type has `date` or `period`)
        found = {"time": self.time_problem(time, now)}
        if isinstance(fields.get("date"), date):
            found["data.date"] = self.date_problem(fields["date"], now)
        if isinstance(fields.get("period"), str):
            found["data.period"] = self.month_problem(fields["period"], now)
        return {name: reason for name, reason in found.items() if reason}
