"""Routes of the official workflow: status transitions and assistance measures, translated into the commands of
`services/alerts/handlers.py` and their outcomes back into status codes.

Optimistic concurrency is optional (v1 calls carry neither): `expected_version` in the body (409 when stale) or
`If-Match` with the ETag of `GET /alerts/{id}` (412 when stale); with neither, the change applies to the version
read just before it, atomically, and answers 409 if another change got in between.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, HTTPException, Response

from services.alerts import handlers
from services.alerts.changes import ChangeNotApplied
from services.alerts.handlers import Changed, MoveAlert, RecordMeasure, Stale, Unknown, move_alert
from services.alerts.transitions import MeasureRequest, Refusal, TransitionRequest
from services.api.dependencies import ApiServices, Services
from services.api.permissions import Caseworker
from services.api.users import User
from services.common.alerts import Alert
from services.common.errors import errors

router = APIRouter(tags=["workflow"])
_STATUS_CODES = {"role": 403, "state": 409, "criteria": 409, "input": 422}


IfMatch = Annotated[
    str | None,
    Header(
        description='the ETag of GET /alerts/{id} (e.g. "3"), or *: 412 unless the alert is still at that version '
        "(an entity tag that is not one of ours matches no version: 412 too, as RFC 9110 says)",
    ),
]
_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')
NO_VERSION = 0  # what an If-Match that is not one of our entity tags names: no alert is ever at version 0


def etag(alert: Alert) -> str:
    """The alert's entity tag: its version, which every change raises by one."""
    return f'"{alert.version}"'


def expected_version(body_version: int | None, if_match: str | None) -> tuple[int | None, int]:
    """The version the caller expects (None: whatever is current) and the status code for a stale one."""
    if if_match is None or if_match.strip() == "*":
        return body_version, 409
    found = _ETAG.match(if_match.strip())
    version = int(found.group(1)) if found else NO_VERSION
    if found and body_version is not None and body_version != version:
        raise HTTPException(422, f"If-Match: names version {version} but expected_version says {body_version}")
    return version, 412


def _stale(alert: Alert, message: str) -> dict[str, Any]:
    return {"message": message, "version": alert.version, "status": alert.status}


async def _handled(
    services: ApiServices, response: Response, user: User, stale_code: int, handling: Awaitable[Changed]
) -> Alert:
    """Run a handler; its outcomes as status codes, the applied change audited and its ETag set."""
    try:
        changed = await handling
    except Unknown as exc:  # the same 403 for an unknown alert and another jurisdiction's: no id's existence leaks
        raise HTTPException(403, str(exc)) from exc
    except Stale as exc:
        raise HTTPException(409 if exc.raced else stale_code, _stale(exc.current, str(exc))) from exc
    except Refusal as refusal:
        raise HTTPException(_STATUS_CODES[refusal.kind], {"message": refusal.message, **refusal.details}) from refusal
    except (ChangeNotApplied, KafkaError) as exc:
        raise HTTPException(503, f"the change could not be confirmed, try again: {exc}") from exc
    after = changed.after
    audit = services.audit
    await audit.record(user.username, f"alert.{changed.kind}", after.id, region=after.region_code)
    review = after.risk_types_review
    if review is not None and review != changed.before.risk_types_review:  # a person's word on the risk types
        action = "alert.risk_types_corrected" if review.corrected else "alert.risk_types_confirmed"
        before, now = ",".join(changed.before.risk_types), ",".join(after.risk_types)
        await audit.record(user.username, action, after.id, region=after.region_code, before=before, risk_types=now)
    response.headers["ETag"] = etag(after)
    return services.changes.as_stored(after)


@router.post(
    "/alerts/{alert_id}/transitions", response_model=Alert, summary="Move an alert through the workflow",
    responses=errors(409, 412, 503),
)  # fmt: skip
async def transition(
    alert_id: str,
    body: TransitionRequest,
    user: Caseworker,
    services: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Alert:
    """open → verifying → reviewing → confirmed | dismissed; confirmed → assisting → resolved (see docs/staff.md)."""
    expected, stale_code = expected_version(body.expected_version, if_match)
    command = MoveAlert(alert_id, body, expected)
    handling = move_alert(command, user, services.alerts, services.changes, services.policies, datetime.now(UTC))
    return await _handled(services, response, user, stale_code, handling)


@router.post(
    "/alerts/{alert_id}/measures", response_model=Alert, summary="Record an assistance measure",
    responses=errors(409, 412, 503),
)  # fmt: skip
async def record_measure(
    alert_id: str,
    body: MeasureRequest,
    user: Caseworker,
    services: Services,
    response: Response,
    if_match: IfMatch = None,
) -> Alert:
    """Add one measure (type, amount in yuan, date) to a confirmed or assisted case."""
    expected, stale_code = expected_version(body.expected_version, if_match)
    command = RecordMeasure(alert_id, body, expected)
    handling = handlers.record_measure(
        command, user, services.alerts, services.changes, services.policies.first_day, datetime.now(UTC)
    )
    return await _handled(services, response, user, stale_code, handling)
