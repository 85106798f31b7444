"""Month arithmetic, once: `YYYY-MM` months moved and counted, a month's last day, dates moved by whole months."""

from __future__ import annotations

import calendar
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=4096)
def month_shift(month: str, delta: int) -> str:
    """`YYYY-MM` moved by `delta` months."""
    index = month_index(month) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_index(text: str) -> int:
    """Months since year 0 of a `YYYY-MM` month, or of the month an ISO date or time names (in its own offset)."""
    return int(text[:4]) * 12 + int(text[5:7]) - 1


def month_of(day: date) -> str:
    """The `YYYY-MM` month of a date (or of a datetime, in its own offset)."""
    return f"{day.year:04d}-{day.month:02d}"


def last_day(month: str) -> date:
    """The last day of a `YYYY-MM` month."""
    year, number = int(month[:4]), int(month[5:7])
    return date(year, number, calendar.monthrange(year, number)[1])


def months_from(start: str, end: str) -> list[str]:
    """Every month from `start` to `end`, both included (just `start` when `end` is earlier)."""
    return [month_shift(start, delta) for delta in range(max(month_index(end) - month_index(start), 0) + 1)]


def add_months(day: date, months: int) -> date:
    """`day` moved by `months`; a month's last day stays the last day of its month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    at_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if at_end else min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (rounded up: any part of a month counts)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + (1 if end.day > start.day and months >= 0 and add_months(start, months) < end else 0)


@lru_cache(maxsize=1024)
def window(end_month: str, months: int = 12) -> tuple[str, ...]:
    """The `months` months ending with `end_month`, newest first."""
    return tuple(month_shift(end_month, -offset) for offset in range(months))
