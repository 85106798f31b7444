"""Routes for staff: tokens, users, alerts and households."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from services.alerts.models import Alert
from services.alerts.store import AlertFilter, AlertStore
from services.api.audit import AuditTrail
from services.api.auth import CurrentUser, RequireRole, within_jurisdiction
from services.api.users import NewUser, User, UserExists, UserStore

router = APIRouter()


class Token(BaseModel):
    """OAuth2 bearer token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"


class AlertPage(BaseModel):
    """One page of alerts, newest first."""

    items: list[Alert]
    total: int
    offset: int
    limit: int


def _alerts(request: Request) -> AlertStore:
    store: AlertStore = request.app.state.alerts
    return store


def _audit(request: Request) -> AuditTrail:
    trail: AuditTrail = request.app.state.audit
    return trail


Alerts = Annotated[AlertStore, Depends(_alerts)]
Audit = Annotated[AuditTrail, Depends(_audit)]
AdminUser = Annotated[User, Depends(RequireRole("admin"))]


@router.post("/auth/token", response_model=Token, tags=["auth"], summary="Log in (OAuth2 password flow)")
async def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange username and password for an access token."""
    users: UserStore = request.app.state.users
    user = await users.authenticate(form.username, form.password)
    if user is None:
        raise HTTPException(
            401, "wrong username or password, or account disabled", headers={"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=request.app.state.tokens.issue(user))


@router.post("/users", response_model=User, status_code=201, tags=["users"], summary="Create a user (admin)")
async def create_user(request: Request, new: NewUser, _: AdminUser) -> User:
    """Create a staff account with a role and a jurisdiction."""
    users: UserStore = request.app.state.users
    try:
        return await users.create(new)
    except UserExists as exc:
        raise HTTPException(409, f"username {new.username!r} is taken") from exc


@router.get("/alerts", response_model=AlertPage, tags=["alerts"], summary="Alerts in your jurisdiction")
async def list_alerts(
    user: CurrentUser,
    alerts: Alerts,
    status: Annotated[str | None, Query(examples=["open"])] = None,
    level: Annotated[Literal["red", "yellow"] | None, Query()] = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    household_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    overdue: bool | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Newest first; filters combine; only alerts inside your jurisdiction are listed or counted."""
    where = AlertFilter(user.region_code, status, level, household_id, region_code, overdue, datetime.now(UTC))
    items, total = await alerts.search(where, offset, limit)
    return AlertPage(items=items, total=total, offset=offset, limit=limit)


@router.get("/alerts/{alert_id}", response_model=Alert, tags=["alerts"], summary="One alert")
async def get_alert(alert_id: str, user: CurrentUser, alerts: Alerts, audit: Audit) -> Alert:
    """The alert with its reasons and history; the read is audited."""
    alert = await alerts.get(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    if not within_jurisdiction(user, alert.region_code):
        raise HTTPException(403, "this alert is outside your jurisdiction")
    await audit.record(user.username, "alert.read", alert_id)
    return alert


@router.get("/households/{household_id}", tags=["households"], summary="A household's figures and timeline")
async def get_household(household_id: str, user: CurrentUser, alerts: Alerts, audit: Audit) -> dict[str, Any]:
    """Current figures, timeline of scores, and the latest alert; the read is audited."""
    household = await alerts.household(household_id)
    if household is None:
        raise HTTPException(404, f"no household {household_id} has been scored")
    if not within_jurisdiction(user, household["region_code"]):
        raise HTTPException(403, "this household is outside your jurisdiction")
    latest = await alerts.latest_for_household(household_id)
    household["alerts"] = [latest.model_dump(mode="json")] if latest else []
    await audit.record(user.username, "household.read", household_id)
    return household
