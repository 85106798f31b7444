"""Deadlines of a case: reminders before they fall due, overdue flags and escalation to the county queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from services.common.alerts import CLOSED_STATUSES, Alert, Deadline, HistoryEntry

AWAITING_DECISION = frozenset({"open", "verifying", "reviewing"})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "overdue since" of a case the deadline loop has flagged


class DeadlineFacts(Protocol):
    """What the overdue rules read of a deadline."""

    @property
    def name(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...


class CaseFacts(Protocol):
    """What the overdue rules read of a case: an Alert, or a lighter view of its stored JSON (the ledger's)."""

    @property
    def status(self) -> str: ...
    @property
    def overdue(self) -> bool: ...
    @property
    def visit(self) -> object | None: ...
    @property
    def deadlines(self) -> Sequence[DeadlineFacts]: ...


def pending(alert: CaseFacts, deadline: DeadlineFacts) -> bool:
    """True while what the deadline asks for has not been done."""
    if deadline.name == "home_visit":
        return alert.visit is None and alert.status in ("open", "verifying")
    return alert.status in AWAITING_DECISION


def is_overdue(alert: Alert, now: datetime) -> bool:
    """True when a deadline has passed and its task is still pending (whether or not the loop flagged it yet)."""
    return any(pending(alert, d) and d.due_at <= now for d in alert.deadlines)


def overdue_since(alert: CaseFacts) -> datetime | None:
    """From when the case counts as overdue: flagged and open ones always, others at their first pending deadline."""
    if alert.status in CLOSED_STATUSES:
        return None
    if alert.overdue:
        return EPOCH
    return min((d.due_at for d in alert.deadlines if pending(alert, d)), default=None)


def counts_as_overdue(alert: CaseFacts, now: datetime) -> bool:
    """True for an open case that is flagged overdue or has a pending deadline passed by `now`."""
    since = overdue_since(alert)
    return since is not None and since <= now


def with_overdue_flag(alert: Alert) -> Alert:
    """The alert with `overdue` recomputed: a flagged deadline that is still pending."""
    return alert.model_copy(update={"overdue": any(d.missed and pending(alert, d) for d in alert.deadlines)})


def next_check(alert: Alert) -> datetime | None:
    """When the next reminder or overdue flag of the alert falls due, or None when nothing is left to watch."""
    times = [d.due_at if d.reminded else d.remind_at for d in alert.deadlines if pending(alert, d) and not d.missed]
    return min(times, default=None)


def deadline_change(alert: Alert, now: datetime) -> Alert | None:
    """Fire what is due at `now`: a reminder, or an overdue flag that escalates to the county; None if nothing."""
    deadlines: list[Deadline] = []
    entries: list[HistoryEntry] = []
    for deadline in alert.deadlines:
        if pending(alert, deadline) and not deadline.missed and now >= deadline.due_at:
            deadline = deadline.model_copy(update={"missed": True, "reminded": True})
            entries.append(HistoryEntry(at=now, by="system", change=f"overdue:{deadline.name}"))
        elif pending(alert, deadline) and not deadline.reminded and now >= deadline.remind_at:
            deadline = deadline.model_copy(update={"reminded": True})
            entries.append(HistoryEntry(at=now, by="system", change=f"reminder:{deadline.name}"))
        deadlines.append(deadline)
    if not entries:
        return None
    escalated = any(entry.change.startswith("overdue") for entry in entries)
    changed = alert.model_copy(
        update={
            "deadlines": deadlines,
            "queue": "county" if escalated else alert.queue,
            "updated_at": now,
            "version": alert.version + 1,
            "history": [*alert.history, *entries],
        }
    )
    return with_overdue_flag(changed)
