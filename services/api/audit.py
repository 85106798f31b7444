"""The audit trail: every person's read or change of an alert, household or account, in a Redis stream.

Each entry names the region it is about (`region`: a region code or prefix), so that an admin reads the entries
inside their own jurisdiction only; entries written before regions were recorded are read by national admins.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import orjson
from redis.asyncio import Redis

from services.alerts.search import AlertFilter

AUDIT_STREAM = "audit:log"
_LEADING_ID = re.compile(r'\{"id":"([^"\\]+)"')  # alerts are stored as their JSON, `id` first


def alert_id(stored: str) -> str:
    """The id of an alert stored as its JSON, read without parsing the whole alert when it comes first."""
    found = _LEADING_ID.match(stored)
    return found.group(1) if found else str(orjson.loads(stored)["id"])


class AuditTrail:
    """Append-only record of who did what to which record, where, and when."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def record(self, username: str, action: str, target: str, *, region: str, **details: str) -> None:
        """Append one entry about `target`, which lies in `region`."""
        entry: dict[str, str] = {"at": datetime.now(UTC).isoformat(), "user": username, "action": action}
        entry |= {"target": target, "region": region, **details}
        await self._redis.xadd(AUDIT_STREAM, entry)  # type: ignore[arg-type]

    async def record_listing(
        self, username: str, where: AlertFilter, offset: int, limit: int, alerts: list[str]
    ) -> None:
        """One entry for a list read of alerts: the filters asked for (`target`) and the ids of the alerts returned."""
        asked = {
            "status": where.status,
            "level": where.level,
            "region_code": where.region_code,
            "household_id": where.household_id,
            "overdue": None if where.overdue is None else str(where.overdue).lower(),
            "queue": where.queue,
            "risk_type": where.risk_type,
            "offset": offset,
            "limit": limit,
        }
        query = urlencode({key: value for key, value in asked.items() if value is not None})
        ids = " ".join(alert_id(stored) for stored in alerts)
        region = where.scope() or where.region_prefix  # what the read covered (the caller's, if nothing overlapped)
        await self.record(username, "alert.list", f"/alerts?{query}", region=region, ids=ids)
