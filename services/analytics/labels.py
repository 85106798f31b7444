"""One label format for every source: one outcome per household per date (`household_id, as_of, outcome`, and an
optional `risk_type`).

Outcomes: `below_line` / `above_line` (the household's 12-month per-capita income against the monitoring line as of that
date), `entered_monitoring` (it became a monitored household), and the township's verdicts `confirmed` / `dismissed`.
A positive outcome may name its risk type (风险类型): the main one a confirmed case carried, or a simulation's cause.
The simulator writes them, a panel import writes them, verdicts (a JSONL export or the `alerts.changes` log) convert
to them; training and evaluation read them (CSV with a header, or JSONL).
"""

from __future__ import annotations

import csv
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from services.common.china_time import CHINA
from services.common.months import add_months, last_day, month_shift, months_between
from services.common.risk_types import RISK_TYPES

LINE_OUTCOMES = ("below_line", "above_line")
VERDICTS = ("confirmed", "dismissed")
POSITIVE = frozenset({"below_line", "entered_monitoring", "confirmed"})
OUTCOMES = (*LINE_OUTCOMES, "entered_monitoring", *VERDICTS)
COLUMNS = ("household_id", "as_of", "outcome")
RISK_COLUMN = "risk_type"  # optional


class LabelError(ValueError):
    """A label line that cannot be read; the message names the file, line, household and field."""


@dataclass(frozen=True, order=True)
class Outcome:
    """One household's outcome as of a date."""

    household_id: str
    as_of: date
    outcome: str
    risk_type: str = ""  # the cause of a positive outcome, when known


def as_of_date(text: str) -> date:
    """`YYYY-MM-DD`, or a period's last day: `YYYY-MM` (month end) or `YYYY` (31 December)."""
    text = text.strip()
    if len(text) == 4 and text.isdigit():
        return date(int(text), 12, 31)
    if len(text) == 7:
        return last_day(text)
    return date.fromisoformat(text[:10])


def outcome_of(household_id: str, as_of: str, outcome: str, where: str, risk_type: str = "") -> Outcome:
    """A checked outcome; errors name where it came from, the household and the field."""
    if not household_id:
        raise LabelError(f"{where}: household_id: missing")
    if outcome not in OUTCOMES:
        raise LabelError(f"{where}: household {household_id}: outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if risk_type and risk_type not in RISK_TYPES:
        raise LabelError(
            f"{where}: household {household_id}: risk_type: {risk_type!r} is not one of {', '.join(RISK_TYPES)}"
        )
    try:
        day = as_of_date(as_of)
    except ValueError as exc:
        raise LabelError(
            f"{where}: household {household_id}: as_of: {as_of!r} is not YYYY-MM-DD, YYYY-MM or YYYY"
        ) from exc
    return Outcome(household_id, day, outcome, risk_type)


def read_outcomes(path: Path) -> Iterator[Outcome]:
    """Outcomes from a CSV (header household_id,as_of,outcome[,risk_type]) or JSONL file."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    doc = json.loads(line)
                    household, as_of, outcome, cause = (str(doc.get(name) or "") for name in (*COLUMNS, RISK_COLUMN))
                    yield outcome_of(household, as_of, outcome, f"{path.name} line {number}", cause)
        return
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise LabelError(
                f"{path.name}: columns {sorted(missing)} missing (the header is household_id,as_of,outcome)"
            )
        for number, row in enumerate(reader, start=2):
            cause = (row.get(RISK_COLUMN) or "").strip()
            yield outcome_of(
                row["household_id"].strip(), row["as_of"], row["outcome"].strip(), f"{path.name} line {number}", cause
            )


def write_outcomes(path: Path, outcomes: Iterable[Outcome], with_risk_type: bool = False) -> int:
    """Write outcomes as CSV or JSONL (by the file's suffix), with the `risk_type` column if asked; returns how many."""
    count = 0
    columns = (*COLUMNS, RISK_COLUMN) if with_risk_type else COLUMNS
    with path.open("w", newline="", encoding="utf-8") as handle:
        jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        writer = None if jsonl else csv.writer(handle)
        if writer:
            writer.writerow(columns)
        for item in outcomes:
            values = (item.household_id, item.as_of.isoformat(), item.outcome, item.risk_type)[: len(columns)]
            if writer:
                writer.writerow(values)
            else:
                handle.write(json.dumps(dict(zip(columns, values, strict=True))) + "\n")
            count += 1
    return count


def truth_outcomes(path: Path) -> Iterator[Outcome]:
    """The simulator's former truth JSONL ({household_id, start, below: [0/1 per month]}) as month-end outcomes."""
    with path.open(encoding="utf-8") as handle:
        for doc in map(json.loads, filter(str.strip, handle)):
            for t, below in enumerate(doc["below"]):
                day = last_day(month_shift(doc["start"][:7], t))
                yield Outcome(doc["household_id"], day, "below_line" if below else "above_line")


def _main_risk_type(doc: dict[str, object]) -> str:
    """The risk type a verdict names: its `risk_type`, else the first of its (or its alert's) `risk_types`."""
    alert = doc.get("alert")
    types = doc.get("risk_types") or (alert.get("risk_types") if isinstance(alert, dict) else None) or [""]
    return str(doc.get(RISK_COLUMN) or (types[0] if isinstance(types, list) else ""))


def verdict_outcomes(verdicts: Iterable[dict[str, object]]) -> Iterator[Outcome]:
    """Township verdicts ({household_id, decided_at, verdict[, risk_type]} or alerts.changes confirm/dismiss) as
    outcomes; a confirmation names the case's main risk type."""
    for number, doc in enumerate(verdicts, start=1):
        verdict = str(doc.get("verdict") or doc.get("kind") or "")
        if verdict not in VERDICTS:
            continue
        decided = doc.get("decided_at") or doc.get("at")
        when = decided if isinstance(decided, datetime) else datetime.fromisoformat(str(decided))
        day = when.astimezone(CHINA).date() if when.tzinfo else when.date()
        risk_type = _main_risk_type(doc) if verdict == "confirmed" else ""
        yield outcome_of(str(doc.get("household_id", "")), day.isoformat(), verdict, f"verdict {number}", risk_type)


class Labels:
    """Every household's outcomes, in date order; answers the label of a (household, cut-off) row."""

    def __init__(self, outcomes: Iterable[Outcome]):
        grouped: dict[str, list[tuple[date, str]]] = defaultdict(list)
        self._causes: dict[tuple[str, date, str], str] = {}  # (household, date, outcome) → its risk type, if named
        for item in outcomes:
            grouped[item.household_id].append((item.as_of, item.outcome))
            if item.risk_type:
                self._causes[item.household_id, item.as_of, item.outcome] = item.risk_type
        self._by_household = {hid: sorted(items) for hid, items in grouped.items()}
        self._days = {hid: [d for d, _ in items] for hid, items in self._by_household.items()}
        self._known_until = max((days[-1] for days in self._days.values()), default=date.min)

    @classmethod
    def read(cls, paths: Iterable[Path]) -> Labels:
        """Labels from one or more files (e.g. the line outcomes and the verdicts)."""
        return cls(item for path in paths for item in read_outcomes(path))

    def __contains__(self, household_id: object) -> bool:
        return household_id in self._by_household

    def cutoffs(self) -> list[date]:
        """The dates at which some household's standing against the line is known: where rows can be cut."""
        return sorted({d for items in self._by_household.values() for d, kind in items if kind in LINE_OUTCOMES})

    def until(self, last: date) -> Labels:
        """Only the outcomes dated on or before `last` (what was known then)."""
        kept = Labels([])
        kept._by_household = {h: [i for i in items if i[0] <= last] for h, items in self._by_household.items()}
        kept._by_household = {h: items for h, items in kept._by_household.items() if items}
        kept._days = {hid: [d for d, _ in items] for hid, items in kept._by_household.items()}
        kept._known_until = max((days[-1] for days in kept._days.values()), default=date.min)
        kept._causes = {key: cause for key, cause in self._causes.items() if key[1] <= last}
        return kept

    def row(self, household_id: str, cutoff: date, horizon_months: int) -> tuple[bool, int] | None:
        """(positive, months from the cut-off to the first positive outcome) or None when the row is not eligible.

        Eligible: above the line at the cut-off (an `above_line` outcome dated then), and the labels reaching past
        the horizon's end (else only falls would be known there: a biased row set). A verdict in the horizon decides
        (the latest one); else any `below_line` / `entered_monitoring` in it is positive; else it is negative when the
        household's standing was observed inside the horizon and at or after its end (a survey whose waves are
        further apart than the horizon says nothing about it).
        """
        items, days = self._by_household.get(household_id), self._days.get(household_id)
        if not items or not days or add_months(cutoff, horizon_months) > self._known_until:
            return None
        at = [kind for d, kind in items[bisect_left(days, cutoff) : bisect_right(days, cutoff)]]
        if "above_line" not in at or "below_line" in at:
            return None
        end = add_months(cutoff, horizon_months)
        window = items[bisect_right(days, cutoff) : bisect_right(days, end)]
        verdicts = [(d, kind) for d, kind in window if kind in VERDICTS]
        if verdicts:
            day, kind = verdicts[-1]
            return kind == "confirmed", months_between(cutoff, day) if kind == "confirmed" else 0
        first = next((d for d, kind in window if kind in POSITIVE), None)
        if first is not None:
            return True, months_between(cutoff, first)
        observed_inside = any(kind in LINE_OUTCOMES for _, kind in window)
        if observed_inside and any(kind in LINE_OUTCOMES for _, kind in items[bisect_left(days, end) :]):
            return False, 0
        return None

    def cause(self, household_id: str, cutoff: date, horizon_months: int) -> str:
        """The risk type named by the outcome that makes a row positive (the deciding confirmation, else the first
        positive outcome in the horizon); '' when none is named."""
        items, days = self._by_household.get(household_id, []), self._days.get(household_id, [])
        window = items[bisect_right(days, cutoff) : bisect_right(days, add_months(cutoff, horizon_months))]
        verdicts = [(d, kind) for d, kind in window if kind in VERDICTS]
        deciding = verdicts[-1:] if verdicts else [(d, kind) for d, kind in window if kind in POSITIVE][:1]
        return next((self._causes.get((household_id, d, kind), "") for d, kind in deciding if kind in POSITIVE), "")
