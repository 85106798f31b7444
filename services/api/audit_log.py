"""`GET /audit` (admin): the audit trail of reads and changes, filtered and paged newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from redis.asyncio import Redis

from services.api.audit import AUDIT_STREAM
from services.api.auth import RequireRole
from services.api.users import User

router = APIRouter(tags=["audit"])
AdminUser = Annotated[User, Depends(RequireRole("admin"))]
_CHUNK = 500


class AuditPage(BaseModel):
    """Entries newest first; pass `next` as `before` for the following page (None: no more)."""

    items: list[dict[str, str]]
    next: str | None


@router.get("/audit", response_model=AuditPage, summary="The audit trail (admin)")
async def audit_log(
    request: Request,
    _: AdminUser,
    user: str | None = None,
    target: str | None = None,
    action: Annotated[str | None, Query(examples=["alert.read", "alert.confirmed"])] = None,
    before: Annotated[str | None, Query(pattern=r"^\d+-\d+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Who did what to which alert or household, and when; filters combine (exact matches)."""
    redis: Redis = request.app.state.redis
    wanted = {"user": user, "target": target, "action": action}
    items: list[dict[str, str]] = []
    upper = f"({before}" if before else "+"
    while True:
        chunk: Any = await redis.xrevrange(AUDIT_STREAM, max=upper, count=_CHUNK)
        for entry_id, fields in chunk:
            if all(value is None or fields.get(key) == value for key, value in wanted.items()):
                items.append({"id": entry_id, **fields})
                if len(items) == limit:
                    return AuditPage(items=items, next=entry_id)
        if len(chunk) < _CHUNK:
            return AuditPage(items=items, next=None)
        upper = f"({chunk[-1][0]}"
