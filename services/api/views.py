"""Routes for staff: alerts and households (accounts live in accounts.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from services.alerts.search import AlertFilter
from services.api.alert_changes import etag
from services.api.dependencies import Alerts, Audit, Policies, Regions
from services.api.permissions import Caseworker
from services.api.scoped import ScopedAlert, ScopedHousehold
from services.common.alerts import Alert, Status
from services.common.risk_types import MeasureType, RiskType

router = APIRouter()
# Alerts are stored as their JSON with `id`, `household_id` and `region_code` first (the model's field order).
_LEADING_REGION = re.compile(r'\{"id":"[^"\\]*","household_id":"[^"\\]*","region_code":"(\d*)"')


class NamedAlert(Alert):
    """An alert with its region's name as shown to staff (a v1 addition)."""

    region_name: str | None = Field(
        None, description="the region as shown: a village with its township (新华乡 · 新华村); the code when unknown"
    )


class AlertDetail(NamedAlert):
    """One alert as `GET /alerts/{id}` shows it: with the measures that answer its risk types (a v1 addition)."""

    matching_measures: dict[RiskType, list[MeasureType]] = Field(
        default_factory=dict,
        description="per risk type of the case, the measures its region's policy lists as answering it (分层分类帮扶)",
    )


class AlertPage(BaseModel):
    """One page of alerts in a stable order: newest `created_at` first, ties by `id` descending."""

    items: list[NamedAlert]
    total: int
    offset: int
    limit: int


def region_of(stored: str) -> str:
    """The region code of an alert stored as its JSON, read without parsing the whole alert."""
    found = _LEADING_REGION.match(stored)
    return found.group(1) if found else str(orjson.loads(stored)["region_code"])


def with_region_name(stored: str, name: str) -> str:
    """The stored alert's JSON with `region_name` added."""
    return f'{stored[:-1]},"region_name":{orjson.dumps(name).decode()}}}'


@router.get("/alerts", response_model=AlertPage, tags=["alerts"], summary="Alerts in your jurisdiction")
async def list_alerts(
    user: Caseworker,
    alerts: Alerts,
    audit: Audit,
    regions: Regions,
    status: Annotated[Status | None, Query(examples=["open"])] = None,
    level: Annotated[Literal["red", "yellow"] | None, Query()] = None,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    household_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None,
    overdue: bool | None = None,
    queue: Literal["township", "county"] | None = None,
    risk_type: Annotated[RiskType | None, Query(description="a v1 addition: cases carrying this risk type")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Newest first, ties by id descending (stable offset pages); filters combine; only your jurisdiction counts.

    The read is audited: one entry naming the query and the ids of the alerts returned."""
    now = datetime.now(UTC)
    where = AlertFilter(user.region_code, status, level, household_id, region_code, overdue, now, queue, risk_type)
    items, total = await alerts.search_json(where, offset, limit)
    await audit.record_listing(user.username, where, offset, limit, items)
    # The alerts are stored as this API's JSON: the page is assembled without parsing and re-serialising them, their
    # region names added from one batch lookup for the whole page.
    codes = [region_of(item) for item in items]
    names = await regions.names_of(codes)
    named = [with_region_name(item, names[code]) for item, code in zip(items, codes, strict=True)]
    body = f'{{"items":[{",".join(named)}],"total":{total},"offset":{offset},"limit":{limit}}}'
    return Response(body, media_type="application/json")


@router.get("/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"], summary="One alert")
async def get_alert(
    alert: ScopedAlert, user: Caseworker, audit: Audit, regions: Regions, policies: Policies, response: Response
) -> AlertDetail:
    """The alert with its reasons and history, its region's name and the measures that answer its risk types; the
    ETag names its version (send it as If-Match); the read is audited; 404 for an alert outside your jurisdiction,
    as for an unknown one."""
    await audit.record(user.username, "alert.read", alert.id, region=alert.region_code)
    response.headers["ETag"] = etag(alert)
    names = await regions.names_of([alert.region_code])
    answers = policies.for_region(alert.region_code, datetime.now(UTC).year).values.risk_type_measures
    matching = {risk_type: list(answers[risk_type]) for risk_type in alert.risk_types}
    return AlertDetail(**dict(alert), region_name=names[alert.region_code], matching_measures=matching)


@router.get("/households/{household_id}", tags=["households"], summary="A household's figures and timeline")
async def get_household(
    household_id: str, household: ScopedHousehold, user: Caseworker, alerts: Alerts, audit: Audit
) -> dict[str, Any]:
    """Current figures, timeline of scores, and the latest alert; the read is audited; 404 outside your jurisdiction."""
    latest = await alerts.latest_for_household(household_id)
    household["alerts"] = [latest.model_dump(mode="json")] if latest else []
    await audit.record(user.username, "household.read", household_id, region=household["region_code"])
    return household
