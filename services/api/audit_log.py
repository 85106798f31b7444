"""`GET /audit` (admin): the audit trail of reads and changes inside the admin's jurisdiction, filtered and paged
newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.api.audit import AUDIT_STREAM
from services.api.dependencies import RedisClient, Settings
from services.api.permissions import Admin

router = APIRouter(tags=["audit"])
_CHUNK = 500


class AuditPage(BaseModel):
    """Entries newest first; pass `next` as `before` for the following page (None: no more). A page reads at most
    AUDIT_SCAN_ENTRIES entries of the trail: a filter matching few may answer fewer items than `limit` with a `next`
    to go on from."""

    items: list[dict[str, str]]
    next: str | None


@router.get("/audit", response_model=AuditPage, summary="The audit trail of your jurisdiction (admin)")
async def audit_log(
    admin: Admin,
    redis: RedisClient,
    settings: Settings,
    user: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64, examples=["alert.read", "alert.confirmed"])] = None,
    before: Annotated[
        str | None, Query(pattern=r"^\d{1,19}-\d{1,19}$", description="the `next` of the page before (a stream id)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Who did what to which alert, household or account inside your jurisdiction, and when; filters combine."""
    wanted = {"user": user, "target": target, "action": action}
    items: list[dict[str, str]] = []
    if before is not None and not any(map(int, before.split("-"))):
        return AuditPage(items=[], next=None)  # nothing is older than the stream's first possible entry
    upper = f"({before}" if before else "+"
    budget = settings.audit_scan_entries
    while True:
        if budget <= 0:  # this request has read its share of the trail: the client goes on from here
            return AuditPage(items=items, next=upper[1:])
        chunk: Any = await redis.xrevrange(AUDIT_STREAM, max=upper, count=min(_CHUNK, budget))
        budget -= len(chunk)
        for entry_id, fields in chunk:
            matches = all(value is None or fields.get(key) == value for key, value in wanted.items())
            if matches and admin.reads_entry_about(fields.get("region")):
                items.append({"id": entry_id, **fields})
                if len(items) == limit:
                    return AuditPage(items=items, next=entry_id)
        if not chunk or (len(chunk) < _CHUNK and budget > 0):
            return AuditPage(items=items, next=None)
        upper = f"({chunk[-1][0]}"
