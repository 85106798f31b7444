"""The audit trail: every person's read or change of an alert or household, in a Redis stream."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

AUDIT_STREAM = "audit:log"


class AuditTrail:
    """Append-only record of who did what to which record, and when."""

    def __init__(self, redis: Redis):
        self._redis = redis

    async def record(self, username: str, action: str, target: str) -> None:
        """Append one entry."""
        entry = {"at": datetime.now(UTC).isoformat(), "user": username, "action": action, "target": target}
        await self._redis.xadd(AUDIT_STREAM, entry)  # type: ignore[arg-type]
