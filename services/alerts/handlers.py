"""The workflow's service layer: a person's change to an alert as a command, handled over two small protocols.

`MoveAlert` (a status transition) and `RecordMeasure` (an assistance measure) go through the same steps: read the
alert, check the person's jurisdiction and the version they expect, apply the domain rule (`transitions.py`), then
log the successor (`ChangeLog`), which applies only if no other change got in first. The API route only translates
HTTP into a command and these outcomes back into status codes; the tests run the handlers over in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from services.alerts.transitions import MeasureRequest, TransitionRequest, add_measure, apply_transition
from services.common.alerts import Alert
from services.common.policy import PolicyBook


class AlertReader(Protocol):
    """What the handlers read: alerts, and a household's timeline for the risk-elimination criteria."""

    async def get(self, alert_id: str) -> Alert | None: ...

    async def household(self, household_id: str) -> dict[str, Any] | None: ...


class AlertWriter(Protocol):
    """Where the handlers log a change: applied only if the alert is still at `alert.version - 1`."""

    async def commit(self, alert: Alert, kind: str, by: str, at: datetime) -> bool: ...


class Person(Protocol):
    """Who makes the change: a signed-in member of staff."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    def covers(self, region_code: str) -> bool: ...


@dataclass(frozen=True)
class MoveAlert:
    """Move an alert to `request.to`; `expected`: the version the person saw (None: whatever is current)."""

    alert_id: str
    request: TransitionRequest
    expected: int | None = None


@dataclass(frozen=True)
class RecordMeasure:
    """Record one assistance measure on a confirmed case; `expected` as for MoveAlert."""

    alert_id: str
    request: MeasureRequest
    expected: int | None = None


class Unknown(Exception):
    """No such alert, or one outside the person's jurisdiction (the same answer, so no id's existence leaks)."""


class Stale(Exception):
    """The alert is not at the version the person expected, or another change got in first."""

    def __init__(self, current: Alert, why: str, raced: bool = False):
        super().__init__(f"the alert changed meanwhile: it is at version {current.version}, {why}")
        self.current = current
        self.raced = raced  # another change got in between reading the alert and logging this one


@dataclass(frozen=True)
class Changed:
    """A change that applied: the alert before and after it, and its kind (the new status or `measure_added`)."""

    before: Alert
    after: Alert
    kind: str


async def _editable(alerts: AlertReader, alert_id: str, person: Person, expected: int | None) -> Alert:
    alert = await alerts.get(alert_id)
    if alert is None or not person.covers(alert.region_code):
        raise Unknown(f"alert {alert_id} is unknown or outside your jurisdiction")
    if expected is not None and alert.version != expected:
        raise Stale(alert, f"you expected {expected}")
    return alert


async def _logged(alerts: AlertReader, changes: AlertWriter, person: Person, before: Alert, change: Changed) -> Changed:
    if not await changes.commit(change.after, change.kind, person.username, change.after.updated_at):
        current = await alerts.get(before.id) or before
        raise Stale(current, f"your change was made on version {before.version}: look again", raced=True)
    return change


async def move_alert(
    command: MoveAlert, person: Person, alerts: AlertReader, changes: AlertWriter, policies: PolicyBook, now: datetime
) -> Changed:
    """Apply the transition and log it; raises Unknown, Stale or the domain's Refusal."""
    alert = await _editable(alerts, command.alert_id, person, command.expected)
    household = await alerts.household(alert.household_id) if command.request.to == "resolved" else None
    policy = policies.for_region(alert.region_code, now.year).values
    after = apply_transition(
        alert, command.request, person.username, person.role, policy, household, now, policies.first_day
    )
    return await _logged(alerts, changes, person, alert, Changed(alert, after, command.request.to))


async def record_measure(
    command: RecordMeasure, person: Person, alerts: AlertReader, changes: AlertWriter, first_day: date, now: datetime
) -> Changed:
    """Add the measure (dated from `first_day`, the start of the policy history, to today) and log it."""
    alert = await _editable(alerts, command.alert_id, person, command.expected)
    after = add_measure(alert, command.request, person.username, person.role, now, first_day)
    return await _logged(alerts, changes, person, alert, Changed(alert, after, "measure_added"))
