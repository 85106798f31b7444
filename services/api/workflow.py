"""Routes of the official workflow: status transitions and assistance measures, each logged then projected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Request

from services.alerts.changes import ChangeLog, ChangeNotApplied
from services.alerts.models import Alert
from services.alerts.store import AlertStore
from services.alerts.transitions import MeasureRequest, Refusal, TransitionRequest, add_measure, apply_transition
from services.api.audit import AuditTrail
from services.api.permissions import Caller, Staff
from services.api.users import User
from services.common.policy import PolicyBook

router = APIRouter(tags=["workflow"])
_STATUS_CODES = {"role": 403, "state": 409, "criteria": 409, "input": 422}


def _changes(request: Request) -> ChangeLog:
    changes: ChangeLog = request.app.state.changes
    return changes


Changes = Annotated[ChangeLog, Depends(_changes)]


async def _editable(request: Request, alert_id: str, user: Caller, expected_version: int) -> Alert:
    store: AlertStore = request.app.state.alerts
    alert = await store.get(alert_id)
    if alert is None or not user.covers(alert.region_code):  # the same 403 for both: no id's existence leaks
        raise HTTPException(403, f"alert {alert_id} is unknown or outside your jurisdiction")
    if alert.version != expected_version:
        raise HTTPException(409, _stale(alert, expected_version))
    return alert


def _stale(alert: Alert, expected_version: int) -> dict[str, Any]:
    return {
        "message": f"the alert changed meanwhile: it is at version {alert.version}, you expected {expected_version}",
        "version": alert.version,
        "status": alert.status,
    }


def _refused(refusal: Refusal) -> HTTPException:
    return HTTPException(_STATUS_CODES[refusal.kind], {"message": refusal.message, **refusal.details})


async def _commit(request: Request, changes: ChangeLog, before: Alert, after: Alert, kind: str, user: User) -> Alert:
    """Log the change, wait for its projection, audit it; 409 if another change got in first."""
    now = after.updated_at
    try:
        applied = await changes.commit(after, kind, user.username, now)
    except (ChangeNotApplied, KafkaError) as exc:
        raise HTTPException(503, f"the change could not be confirmed, try again: {exc}") from exc
    if not applied:
        store: AlertStore = request.app.state.alerts
        current = await store.get(after.id) or before
        raise HTTPException(409, _stale(current, before.version))
    audit: AuditTrail = request.app.state.audit
    await audit.record(user.username, f"alert.{kind}", after.id, region=after.region_code)
    return after


@router.post("/alerts/{alert_id}/transitions", response_model=Alert, summary="Move an alert through the workflow")
async def transition(alert_id: str, body: TransitionRequest, user: Staff, request: Request, changes: Changes) -> Alert:
    """open → verifying → reviewing → confirmed | dismissed; confirmed → assisting → resolved (see the README)."""
    alert = await _editable(request, alert_id, user, body.expected_version)
    now = datetime.now(UTC)
    policies: PolicyBook = request.app.state.policies
    store: AlertStore = request.app.state.alerts
    household = await store.household(alert.household_id) if body.to == "resolved" else None
    try:
        changed = apply_transition(
            alert,
            body,
            user.username,
            user.role,
            policies.for_region(alert.region_code, now.year).values,
            household,
            now,
        )
    except Refusal as refusal:
        raise _refused(refusal) from refusal
    return await _commit(request, changes, alert, changed, body.to, user)


@router.post("/alerts/{alert_id}/measures", response_model=Alert, summary="Record an assistance measure")
async def record_measure(alert_id: str, body: MeasureRequest, user: Staff, request: Request, changes: Changes) -> Alert:
    """Add one measure (type, amount in yuan, date) to a confirmed or assisted case."""
    alert = await _editable(request, alert_id, user, body.expected_version)
    try:
        changed = add_measure(alert, body, user.username, user.role, datetime.now(UTC))
    except Refusal as refusal:
        raise _refused(refusal) from refusal
    return await _commit(request, changes, alert, changed, "measure_added", user)
