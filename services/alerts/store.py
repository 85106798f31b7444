"""Redis projection of alerts (from the change log) and household figures (from scores), read by the API.

Keys (all under `alerts:`, see index.py for the alert hash and the indexes):
  alerts:household:{id}                 the household's current figures (JSON of its latest score)
  alerts:household:{id}:timeline        its last TIMELINE_LENGTH scores, oldest first
  alerts:household:{id}:score_ids       zset of the score ids on the timeline (a redelivered score is recorded once)
  alerts:household:{id}:alert_scores    zset of the score ids whose change an alert of the household has
  alerts:household:{id}:latest          the id of its latest alert
  alerts:deadlines                      zset of alert ids by their next reminder or deadline
  alerts:outbox                         stream of every applied change (the live stream and the webhooks read it)
Both score-id sets keep the newest `score_ids_kept` ids of a household (ordered by time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from redis.asyncio import Redis

from services.alerts import index, monitoring
from services.alerts.changes import RESULTS_CHANNEL, result_key
from services.alerts.deadlines import next_check, overdue_since
from services.alerts.index import ALERT_JSON, alert_key
from services.alerts.positions import Positions
from services.alerts.score_reading import snapshot, timeline_entry
from services.alerts.search import AlertFilter, AlertIndex
from services.alerts.tally import Tally, tallies
from services.common.alerts import Alert, Change
from services.common.score_records import ScoreRecord

TIMELINE_LENGTH = 500
OUTBOX = "alerts:outbox"
DEADLINES = "alerts:deadlines"
RESULT_TTL_SECONDS = 120
# What `rebuild` deletes: the keys this projection owns, and those of the layout before the `alerts:` prefix
# (`alert:{id}` and the alerts service's `household:{id}...` keys; never another service's `household:{id}:people`).
PROJECTION_PATTERNS = ("alerts:alert:*", "alerts:household:*", index.ALL_ALERTS, index.PATTERN, DEADLINES,
                       f"{monitoring.PREFIX}*")  # fmt: skip
LEGACY_PATTERNS = ("alert:*", "household:*")
LEGACY_HOUSEHOLD_PARTS = ("", "timeline", "score_ids", "latest_alert")

HOUSEHOLD_PREFIX = "alerts:household:"
# Adds scores to their households' figures and timelines, in order, each once. ARGV[1]: JSON [[household_id, score_id,
# scored_at, figures JSON, timeline entry JSON, drift group], ...]; ARGV[4]: JSON [[counters key, counties key, county,
# {field: sum}], ...], the batch's drift counters summed over the scores with a group number (monitoring.drift_batch).
# First every score id is looked up, nothing written: a score recorded before (or earlier in the batch) is left
# alone, but if one recorded before was counted in its group's sums, the script writes nothing and returns the ids
# recorded before (a table) for the caller to sum again without them. Otherwise it records the new scores, adds each
# group's sums (one HINCRBY a field) and returns how many scores were new. One call for a whole batch: the
# households' keys are derived here, not passed.
_RECORD_SCORES = f"""
local scores, fresh, recorded, recount = cjson.decode(ARGV[1]), {{}}, {{}}, false
for i, s in ipairs(scores) do
  if fresh[s[2]] == nil then  -- a copy of a score earlier in the batch is never written
    if redis.call('ZSCORE', '{HOUSEHOLD_PREFIX}' .. s[1] .. ':score_ids', s[2]) then
      fresh[s[2]], recorded[#recorded + 1] = 0, s[2]
      recount = recount or s[6] > 0
    else
      fresh[s[2]] = i
    end
  end
end
if recount then return recorded end
local count = 0
for i, s in ipairs(scores) do
  if fresh[s[2]] == i then
    local base = '{HOUSEHOLD_PREFIX}' .. s[1]
    redis.call('ZADD', base .. ':score_ids', s[3], s[2])
    redis.call('ZREMRANGEBYRANK', base .. ':score_ids', 0, -tonumber(ARGV[3]) - 1)
    redis.call('SET', base, s[4])
    redis.call('RPUSH', base .. ':timeline', s[5])
    redis.call('LTRIM', base .. ':timeline', -tonumber(ARGV[2]), -1)
    count = count + 1
  end
end
for _, g in ipairs(cjson.decode(ARGV[4])) do
  redis.call('SADD', g[2], g[3])
  for field, n in pairs(g[4]) do redis.call('HINCRBY', g[1], field, n) end
end
return count
"""
# For each household of ARGV[1] (JSON [[household_id, [score_id, ...]], ...]): its latest alert's JSON ('' if none),
# then one digit per score: +1 when it is on the timeline, +2 when an alert of the household has its change.
_CONTEXTS = f"""
local out = {{}}
for _, item in ipairs(cjson.decode(ARGV[1])) do
  local base = '{HOUSEHOLD_PREFIX}' .. item[1]
  local latest = redis.call('GET', base .. ':latest')
  out[#out + 1] = latest and redis.call('HGET', '{index.ALERT_PREFIX}' .. latest, '{ALERT_JSON}') or ''
  local flags = {{}}
  for i, id in ipairs(item[2]) do
    local seen = 0
    if redis.call('ZSCORE', base .. ':score_ids', id) then seen = seen + 1 end
    if redis.call('ZSCORE', base .. ':alert_scores', id) then seen = seen + 2 end
    flags[i] = tostring(seen)
  end
  out[#out + 1] = table.concat(flags)
end
return out
"""
# The stored JSON of the alert of each id of ARGV ('' where none is stored), in order: one call for a page or a chunk.
_ALERTS_JSON = f"""
local out = {{}}
for i, id in ipairs(ARGV) do
  out[i] = redis.call('HGET', '{index.ALERT_PREFIX}' .. id, '{ALERT_JSON}') or ''
end
return out
"""
# The projection rule, the same live and on rebuild: a change applies only if the stored version is its
# from_version (0 = no alert yet); the alert moves between the indexes (index.py) in the same step, and the score
# behind it (if any) joins the household's alert_scores. Live, it also feeds the outbox and announces the outcome to
# the waiting writer. The stored alert is never decoded: its index fields sit next to its JSON.
_APPLY_CHANGE = (
    index.LUA
    + """
local stored = redis.call('HMGET', KEYS[1], 'version', 'region_code', 'status', 'level', 'queue', 'calibration',
                         'risk', 'late')
local old = nil
if stored[1] then
  old = {region_code = stored[2], status = stored[3], level = stored[4], queue = stored[5], calibration = stored[6],
         risk = stored[7] or '', late = stored[8] or ''}
end
local applied = (tonumber(stored[1]) or 0) == tonumber(ARGV[2])
if applied then
  redis.call('HSET', KEYS[1], 'json', ARGV[1], 'version', ARGV[16], 'region_code', ARGV[11], 'status', ARGV[12],
             'level', ARGV[13], 'queue', ARGV[14], 'calibration', ARGV[20], 'risk', ARGV[21], 'late', ARGV[22])
  if tonumber(ARGV[2]) == 0 then redis.call('SET', KEYS[2], ARGV[3]) end
  if ARGV[5] == '' then redis.call('ZREM', KEYS[3], ARGV[3]) else redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3]) end
  local new = {region_code = ARGV[11], status = ARGV[12], level = ARGV[13], queue = ARGV[14], calibration = ARGV[20],
               risk = ARGV[21], late = ARGV[22]}
  reindex(ARGV[3], old, new, ARGV[4], ARGV[15])
  if ARGV[17] ~= '' then
    redis.call('ZADD', KEYS[6], ARGV[19], ARGV[17])
    redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[18]) - 1)
  end
end
if ARGV[6] == '1' then
  if applied then redis.call('XADD', KEYS[4], '*', 'change', ARGV[7]) end
  local outcome = applied and 'applied' or 'stale'
  redis.call('SET', KEYS[5], outcome, 'EX', ARGV[8])
  redis.call('PUBLISH', ARGV[9], ARGV[10] .. ' ' .. outcome)
end
return applied and 1 or 0
"""
)


def household_key(household_id: str, part: str = "") -> str:
    """A key of the household's projection: its figures (no part), timeline, score_ids, alert_scores or latest."""
    return HOUSEHOLD_PREFIX + household_id + (f":{part}" if part else "")


@dataclass
class HouseholdContext:
    """What a batch of scores needs to know about a household before it changes the household's alert."""

    alert_json: str  # its latest alert as stored ('' when it has none): read into an Alert only when needed
    handled: set[str] = field(default_factory=set)  # score ids on the timeline or in an alert: handled before

    def alert(self) -> Alert | None:
        """The household's latest alert."""
        return Alert.model_validate_json(self.alert_json) if self.alert_json else None


class AlertStore:
    """Alerts by id, newest first, with each household's latest alert and current figures."""

    def __init__(self, redis: Redis, score_ids_kept: int = 5000):
        self._redis = redis
        self._score_ids_kept = score_ids_kept
        self._record_scores = redis.register_script(_RECORD_SCORES)
        self._contexts = redis.register_script(_CONTEXTS)
        self._alerts_json = redis.register_script(_ALERTS_JSON)
        self._apply_change = redis.register_script(_APPLY_CHANGE)
        self._index = AlertIndex(redis)

    async def get(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        raw = await self._redis.hget(alert_key(alert_id), ALERT_JSON)  # type: ignore[misc]
        return Alert.model_validate_json(raw) if raw else None

    async def latest_for_household(self, household_id: str) -> Alert | None:
        """The household's most recent alert, open or closed."""
        alert_id = await self._redis.get(household_key(household_id, "latest"))
        return await self.get(str(alert_id)) if alert_id else None

    async def contexts(self, score_ids: dict[str, list[str]], positions: Positions) -> dict[str, HouseholdContext]:
        """For each household: its latest alert and which of these scores were handled before (one round trip, in
        one transaction with the check of the reader's `positions`: RolledBack if Redis lost its last writes)."""
        if not score_ids:
            return {}
        async with self._redis.pipeline(transaction=True) as pipe:
            await positions.check(pipe)
            await self._contexts(args=[_json(list(score_ids.items()))], client=pipe)
            checked, found = await pipe.execute()
        positions.verify(checked)
        contexts = {}
        for n, (household_id, ids) in enumerate(score_ids.items()):
            flags = str(found[2 * n + 1])
            handled = {score_id for score_id, flag in zip(ids, flags, strict=True) if flag != "0"}
            contexts[household_id] = HouseholdContext(str(found[2 * n]), handled)
        return contexts

    async def apply(self, change: Change, live: bool) -> bool:
        """Project one change (see _APPLY_CHANGE); True when it applied, False when its version was stale."""
        return (await self.apply_many([change], live))[0]

    async def apply_many(self, changes: Sequence[Change], live: bool) -> list[bool]:
        """Project changes in order in one round trip; for each, whether it applied."""
        if not changes:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for change in changes:
                keys, args = self._change_keys(change), self._change_args(change, live)
                await self._apply_change(keys=keys, args=args, client=pipe)
            return [bool(applied) for applied in await pipe.execute()]

    def _change_keys(self, change: Change) -> list[str]:
        household_id = change.alert.household_id
        return [
            alert_key(change.alert.id),
            household_key(household_id, "latest"),
            DEADLINES,
            OUTBOX,
            result_key(change.change_id),
            household_key(household_id, "alert_scores"),
        ]

    def _change_args(self, change: Change, live: bool) -> list[str | int | float]:
        alert = change.alert
        check, since = next_check(alert), overdue_since(alert)
        return [
            alert.model_dump_json(),
            change.from_version,
            alert.id,
            alert.created_at.timestamp(),
            "" if check is None else check.timestamp(),
            "1" if live else "0",
            change.summary_json(),
            RESULT_TTL_SECONDS,
            RESULTS_CHANNEL,
            change.change_id,
            alert.region_code,
            alert.status,
            alert.level,
            alert.queue,
            "" if since is None else since.timestamp(),
            alert.version,
            change.score_id or "",
            self._score_ids_kept,
            change.at.timestamp(),
            monitoring.calibration_tokens(alert),
            " ".join(alert.risk_types),
            "1" if alert.overdue and alert.is_open else "",
        ]

    async def due_for_check(self, now: datetime) -> list[str]:
        """Ids of alerts with a reminder or deadline due by `now`."""
        return [str(i) for i in await self._redis.zrangebyscore(DEADLINES, "-inf", now.timestamp())]

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

    async def record_scores(self, scores: Iterable[ScoreRecord]) -> int:
        """Keep each household's current figures and add each score to its timeline, once, in order (one round trip;
        two when the batch was delivered before, see _RECORD_SCORES); returns how many scores were new."""
        batch = list(scores)
        if not batch:
            return 0
        rows = [
            [s.household_id, s.score_id, s.scored_at.timestamp(), _json(snapshot(s)), _json(timeline_entry(s)), 0]
            for s in batch
        ]
        recorded: list[str] = []  # score ids recorded before: what a redelivered batch's drift sums leave out
        while True:
            numbers, groups = monitoring.drift_batch(batch, recorded)
            for row, number in zip(rows, numbers, strict=True):
                row[-1] = number
            args: list[str | int] = [_json(rows), TIMELINE_LENGTH, self._score_ids_kept, _json(groups)]
            found = await self._record_scores(args=args)
            if not isinstance(found, list):
                return int(found)
            recorded = [str(score_id) for score_id in found]

    async def ids_under(self, prefix: str) -> list[str]:
        """The ids of every alert under an indexed prefix (a township, say), newest first: a snapshot to page."""
        return [str(i) for i in await self._redis.zrevrange(index.ordered_key(prefix), 0, -1)]

    async def many(self, alert_ids: Sequence[str]) -> list[Alert]:
        """The alerts of these ids that exist, in that order (one round trip)."""
        return [Alert.model_validate_json(raw) for raw in await self.stored(alert_ids)]

    async def stored(self, alert_ids: Sequence[str]) -> list[str | bytes]:
        """The stored JSON of the alerts of these ids that exist, in that order (one round trip), not decoded."""
        found = await self._alerts_json(args=list(alert_ids)) if alert_ids else []
        return [raw for raw in found if raw]

    async def household(self, household_id: str) -> dict[str, Any] | None:
        """The household's current figures and timeline, or None if never scored."""
        raw = await self._redis.get(household_key(household_id))
        if raw is None:
            return None
        snapshot: dict[str, Any] = msgspec.json.decode(raw)
        timeline = await self._redis.lrange(household_key(household_id, "timeline"), 0, -1)  # type: ignore[misc]
        snapshot["timeline"] = [msgspec.json.decode(item) for item in timeline]
        return snapshot

    async def wipe(self) -> int:
        """Delete the keys of the alerts projection (and of its layout before `alerts:`); returns how many.

        Users, audit, subscriptions, the outbox, job queues and other services' keys are left alone.
        """
        deleted = 0
        for pattern in (*PROJECTION_PATTERNS, *LEGACY_PATTERNS):
            async for key in self._redis.scan_iter(match=pattern, count=1000):
                if pattern == "household:*" and not _legacy_household_key(str(key)):
                    continue
                deleted += await self._redis.delete(key)
        return deleted


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _legacy_household_key(key: str) -> bool:
    """True for the alerts service's household keys before the `alerts:` prefix (`household:{id}[:part]`)."""
    _, _, rest = key.partition(":")
    _, _, part = rest.partition(":")
    return part in LEGACY_HOUSEHOLD_PARTS
