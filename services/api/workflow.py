"""Routes of the official workflow: status transitions and assistance measures, each logged then projected.

Optimistic concurrency is optional (v1 calls carry neither): `expected_version` in the body (409 when stale) or
`If-Match` with the ETag of `GET /alerts/{id}` (412 when stale); with neither, the change applies to the version
read just before it, atomically, and answers 409 if another change got in between.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

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
IfMatch = Annotated[
    str | None,
    Header(description='the ETag of GET /alerts/{id} (e.g. "3"): refused with 412 unless the alert is still there'),
]
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def etag(alert: Alert) -> str:
    """The alert's entity tag: its version, which every change raises by one."""
    return f'"{alert.version}"'


def expected_version(body_version: int | None, if_match: str | None) -> tuple[int | None, int]:
    """The version the caller expects (None: whatever is current) and the status code for a stale one."""
    if if_match is None or if_match.strip() == "*":
        return body_version, 409
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise HTTPException(422, 'If-Match: an ETag of GET /alerts/{id}, such as "3" (or *)')
    version = int(found.group(1))
    if body_version is not None and body_version != version:
        raise HTTPException(422, f"If-Match: names version {version} but expected_version says {body_version}")
    return version, 412


async def _editable(request: Request, alert_id: str, user: Caller, expected: tuple[int | None, int]) -> Alert:
    store: AlertStore = request.app.state.alerts
    alert = await store.get(alert_id)
    if alert is None or not user.covers(alert.region_code):  # the same 403 for both: no id's existence leaks
        raise HTTPException(403, f"alert {alert_id} is unknown or outside your jurisdiction")
    version, status_code = expected
    if version is not None and alert.version != version:
        raise HTTPException(status_code, _stale(alert, f"you expected {version}"))
    return alert


def _stale(alert: Alert, why: str) -> dict[str, Any]:
    return {
        "message": f"the alert changed meanwhile: it is at version {alert.version}, {why}",
        "version": alert.version,
        "status": alert.status,
    }


def _refused(refusal: Refusal) -> HTTPException:
    return HTTPException(_STATUS_CODES[refusal.kind], {"message": refusal.message, **refusal.details})


async def _commit(
    request: Request, response: Response, changes: ChangeLog, before: Alert, after: Alert, kind: str, user: User
) -> Alert:
    """Log the change, wait for its projection, audit it; 409 if another change got in first."""
    now = after.updated_at
    try:
        applied = await changes.commit(after, kind, user.username, now)
    except (ChangeNotApplied, KafkaError) as exc:
        raise HTTPException(503, f"the change could not be confirmed, try again: {exc}") from exc
    if not applied:
        store: AlertStore = request.app.state.alerts
        current = await store.get(after.id) or before
        raise HTTPException(409, _stale(current, f"your change was made on version {before.version}: look again"))
    audit: AuditTrail = request.app.state.audit
    await audit.record(user.username, f"alert.{kind}", after.id, region=after.region_code)
    response.headers["ETag"] = etag(after)
    return changes.as_stored(after)


@router.post("/alerts/{alert_id}/transitions", response_model=Alert, summary="Move an alert through the workflow")
async def transition(
    alert_id: str,
    body: TransitionRequest,
    user: Staff,
    request: Request,
    response: Response,
    changes: Changes,
    if_match: IfMatch = None,
) -> Alert:
    """open → verifying → reviewing → confirmed | dismissed; confirmed → assisting → resolved (see the README)."""
    alert = await _editable(request, alert_id, user, expected_version(body.expected_version, if_match))
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
            policies.first_day,
        )
    except Refusal as refusal:
        raise _refused(refusal) from refusal
    return await _commit(request, response, changes, alert, changed, body.to, user)


@router.post("/alerts/{alert_id}/measures", response_model=Alert, summary="Record an assistance measure")
async def record_measure(
    alert_id: str,
    body: MeasureRequest,
    user: Staff,
    request: Request,
    response: Response,
    changes: Changes,
    if_match: IfMatch = None,
) -> Alert:
    """Add one measure (type, amount in yuan, date) to a confirmed or assisted case."""
    alert = await _editable(request, alert_id, user, expected_version(body.expected_version, if_match))
    try:
        policies: PolicyBook = request.app.state.policies
        changed = add_measure(alert, body, user.username, user.role, datetime.now(UTC), policies.first_day)
    except Refusal as refusal:
        raise _refused(refusal) from refusal
    return await _commit(request, response, changes, alert, changed, "measure_added", user)
