"""Redis projection of alerts (from the change log) and household figures (from scores), read by the API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from services.alerts import index
from services.alerts.changes import RESULTS_CHANNEL, Change, result_key
from services.alerts.deadlines import next_check, overdue_since
from services.alerts.index import alert_key
from services.alerts.models import Alert
from services.alerts.search import AlertFilter, AlertIndex
from services.alerts.tally import Tally, tallies
from services.common.scores import Score

TIMELINE_LENGTH = 500
OUTBOX = "alerts:outbox"  # every applied change, for the live stream and the webhooks
OUTBOX_LENGTH = 10000
RESULT_TTL_SECONDS = 120
# Adds a score to a household's figures and timeline once: a redelivered score id is a no-op.
_RECORD_SCORE = """
if redis.call('SADD', KEYS[3], ARGV[3]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
return 1
"""
# The projection rule, the same live and on rebuild: a change applies only if the stored version is its
# from_version (0 = no alert yet); the alert moves between the indexes (index.py) in the same step. Live, it also
# feeds the outbox and announces the outcome to the waiting writer.
_APPLY_CHANGE = (
    index.LUA
    + """
local stored = redis.call('GET', KEYS[1])
local old = nil
if stored then old = cjson.decode(stored) end
local applied = (old and old['version'] or 0) == tonumber(ARGV[2])
if applied then
  redis.call('SET', KEYS[1], ARGV[1])
  if tonumber(ARGV[2]) == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
  if ARGV[5] == '' then redis.call('ZREM', KEYS[3], ARGV[3]) else redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3]) end
  local new = {region_code = ARGV[12], status = ARGV[13], level = ARGV[14], queue = ARGV[15]}
  reindex(ARGV[3], old, new, ARGV[4], ARGV[16])
end
if ARGV[6] == '1' then
  if applied then redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'change', ARGV[7]) end
  local outcome = applied and 'applied' or 'stale'
  redis.call('SET', KEYS[5], outcome, 'EX', ARGV[9])
  redis.call('PUBLISH', ARGV[10], ARGV[11] .. ' ' .. outcome)
end
return applied and 1 or 0
"""
)


class AlertStore:
    """Alerts by id, newest first, with each household's latest alert and current figures."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._record_score = redis.register_script(_RECORD_SCORE)
        self._apply_change = redis.register_script(_APPLY_CHANGE)
        self._index = AlertIndex(redis)

    async def get(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        raw = await self._redis.get(alert_key(alert_id))
        return Alert.model_validate_json(raw) if raw else None

    async def latest_for_household(self, household_id: str) -> Alert | None:
        """The household's most recent alert, open or closed."""
        alert_id = await self._redis.get(f"household:{household_id}:latest_alert")
        return await self.get(str(alert_id)) if alert_id else None

    async def apply(self, change: Change, live: bool) -> bool:
        """Project one change (see _APPLY_CHANGE); True when it applied, False when its version was stale."""
        alert = change.alert
        check, since = next_check(alert), overdue_since(alert)
        applied = await self._apply_change(
            keys=[
                alert_key(alert.id),
                f"household:{alert.household_id}:latest_alert",
                "alerts:deadlines",
                OUTBOX,
                result_key(change.change_id),
            ],
            args=[
                alert.model_dump_json(),
                change.from_version,
                alert.id,
                alert.created_at.timestamp(),
                "" if check is None else check.timestamp(),
                "1" if live else "0",
                change.summary_json(),
                OUTBOX_LENGTH,
                RESULT_TTL_SECONDS,
                RESULTS_CHANNEL,
                change.change_id,
                alert.region_code,
                alert.status,
                alert.level,
                alert.queue,
                "" if since is None else since.timestamp(),
            ],
        )
        return bool(applied)

    async def due_for_check(self, now: datetime) -> list[str]:
        """Ids of alerts with a reminder or deadline due by `now`."""
        return [str(i) for i in await self._redis.zrangebyscore("alerts:deadlines", "-inf", now.timestamp())]

    async def search(self, where: AlertFilter, offset: int, limit: int) -> tuple[list[Alert], int]:
        """Alerts matching `where`, newest first (ties by id descending), with the total count."""
        raws, total = await self.search_json(where, offset, limit)
        return [Alert.model_validate_json(raw) for raw in raws], total

    async def search_json(self, where: AlertFilter, offset: int, limit: int) -> tuple[list[str], int]:
        """As `search`, but the alerts as stored (their JSON), for a listing that need not parse them."""
        if where.household_id is not None:
            latest = await self.latest_for_household(where.household_id)
            matching = [latest.model_dump_json()] if latest and where.matches(latest) else []
            return matching[offset : offset + limit], len(matching)
        return await self._index.find(where, offset, limit)

    async def tallies(self, prefix: str, now: datetime) -> list[Tally]:
        """Counts per township of the alerts under `prefix` (see tally.tallies)."""
        return await tallies(self._redis, prefix, now)

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
            "event_time": score.event_time.isoformat(),
            "score_id": score.score_id,
            "level": score.level,
            "caused_by": score.caused_by,
            "reasons": [r.code for r in score.reasons],
            "per_capita_income": score.figures.per_capita_income,
            "monitoring_line": score.figures.monitoring_line,
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

    async def wipe(self) -> int:
        """Delete every alert and household key (not users, audit, subscriptions); returns how many."""
        deleted = 0
        for pattern in ("alert:*", index.ALL_ALERTS, index.PATTERN, "alerts:deadlines", "household:*"):
            async for key in self._redis.scan_iter(match=pattern, count=1000):
                deleted += await self._redis.delete(key)
        return deleted
