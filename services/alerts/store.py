"""Redis projection of alerts and household figures, read by the API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from services.alerts.models import Alert
from services.common.scores import Score

TIMELINE_LENGTH = 500
OVERDUE_STATUSES = frozenset({"open", "verifying", "reviewing"})  # awaiting a decision
# Adds a score to a household's figures and timeline once: a redelivered score id is a no-op.
_RECORD_SCORE = """
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return 1
"""


def _alert_key(alert_id: str) -> str:
    return f"alert:{alert_id}"


@dataclass(frozen=True)
class AlertFilter:
    """What a caller may and wants to see; `region_prefix` is the caller's jurisdiction."""

    region_prefix: str = ""
    status: str | None = None
    level: str | None = None
    household_id: str | None = None
    region_code: str | None = None
    overdue: bool | None = None
    now: datetime | None = None

    def matches(self, alert: Alert) -> bool:
        """True when the alert passes every filter and lies inside the jurisdiction."""
        return (
            alert.region_code.startswith(self.region_prefix)
            and (self.region_code is None or alert.region_code.startswith(self.region_code))
            and (self.status is None or alert.status == self.status)
            and (self.level is None or alert.level == self.level)
            and (self.household_id is None or alert.household_id == self.household_id)
            and (self.overdue is None or self.now is None or self._is_overdue(alert) == self.overdue)
        )

    def _is_overdue(self, alert: Alert) -> bool:
        return alert.status in OVERDUE_STATUSES and self.now is not None and alert.due_at < self.now


class AlertStore:
    """Alerts by id, newest first, with each household's latest alert and current figures."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._record_score = redis.register_script(_RECORD_SCORE)

    async def get(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        raw = await self._redis.get(_alert_key(alert_id))
        return Alert.model_validate_json(raw) if raw else None

    async def latest_for_household(self, household_id: str) -> Alert | None:
        """The household's most recent alert, open or closed."""
        alert_id = await self._redis.get(f"household:{household_id}:latest_alert")
        return await self.get(str(alert_id)) if alert_id else None

    async def save(self, alert: Alert) -> None:
        """Store an alert, its place in the index and the household pointer, atomically."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(_alert_key(alert.id), alert.model_dump_json())
            pipe.zadd("alerts:by_created", {alert.id: alert.created_at.timestamp()})
            pipe.set(f"household:{alert.household_id}:latest_alert", alert.id)
            await pipe.execute()

    async def search(self, where: AlertFilter, offset: int, limit: int) -> tuple[list[Alert], int]:
        """Alerts matching `where`, newest first, with the total count."""
        if where.household_id is not None:
            latest = await self.latest_for_household(where.household_id)
            candidates = [latest] if latest else []
        else:
            ids = await self._redis.zrevrange("alerts:by_created", 0, -1)
            raws = await self._redis.mget([_alert_key(str(i)) for i in ids]) if ids else []
            candidates = [Alert.model_validate_json(raw) for raw in raws if raw]
        matching = [alert for alert in candidates if where.matches(alert)]
        return matching[offset : offset + limit], len(matching)

    async def record_score(self, score: Score) -> None:
        """Keep the household's current figures and add the score to its timeline."""
        snapshot = {
            "household_id": score.household_id,
            "region_code": score.region_code,
            "level": score.level,
            "reasons": [reason.model_dump() for reason in score.reasons],
            "figures": score.figures.model_dump(),
            "policy_version": score.policy_version,
            "model_version": score.model_version,
            "scoring_mode": score.scoring_mode,
            "scored_at": score.scored_at.isoformat(),
            "last_score_id": score.score_id,
        }
        entry = {
            "kind": "score",
            "at": score.scored_at.isoformat(),
            "score_id": score.score_id,
            "level": score.level,
            "caused_by": score.caused_by,
            "reasons": [r.code for r in score.reasons],
        }
        hid = score.household_id
        await self._record_score(
            keys=[f"household:{hid}", f"household:{hid}:timeline", f"household:{hid}:score_ids"],
            args=[
                json.dumps(snapshot, ensure_ascii=False),
                json.dumps(entry, ensure_ascii=False),
                score.score_id,
                TIMELINE_LENGTH,
            ],
        )

    async def household(self, household_id: str) -> dict[str, Any] | None:
        """The household's current figures and timeline, or None if never scored."""
        raw = await self._redis.get(f"household:{household_id}")
        if raw is None:
            return None
        snapshot: dict[str, Any] = json.loads(raw)
        timeline = await self._redis.lrange(f"household:{household_id}:timeline", 0, -1)
        snapshot["timeline"] = [json.loads(item) for item in timeline]
        return snapshot
