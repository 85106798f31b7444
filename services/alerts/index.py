"""The layout of the alert indexes in Redis, and the Lua that keeps them inside the projection script.

Every key the alerts projection owns starts with `alerts:` (`python -m services.alerts rebuild` deletes those only):
  alerts:alert:{id}                            hash: json (the alert as the API returns it), and the fields the
                                               projection script needs without decoding it (version, region_code,
                                               status, level, queue)
For the empty prefix and each administrative prefix of an alert's region code (2, 4, 6, 9, 12 digits):
  alerts:ix:{prefix}:{status|any}:{level|any}  zset of ids scored by created_at (every alert: `alerts:by_created`)
  alerts:ix:{prefix}:county                    zset of ids in the county queue, scored by created_at
  alerts:ix:{prefix}:due                       zset of open ids with a deadline, scored by `overdue_since`
  alerts:ix:{prefix}:counts                    hash "{status}:{level}" -> number of alerts
  alerts:ix:{prefix}:regions                   set of the next level's prefixes holding alerts (not for villages)
  alerts:ix:{prefix}:calibration               hash of the model's calibration counters (monitoring.py)
  alerts:ix:{prefix}:risk:{risk type}          zset of the ids carrying that risk type, scored by created_at
  alerts:ix:{prefix}:risk_types                hash "{risk type}:{status}" -> number of alerts, and
                                               "{risk type}:overdue" -> open alerts flagged overdue
Redis is a single instance: the scripts touch keys they derive from the alert, beyond those they are passed.
"""

from __future__ import annotations

from redis.asyncio import Redis

LEVELS = (2, 4, 6, 9, 12)  # province, city, county, township, village
TOWNSHIP = 9
ANY = "any"
ALL_ALERTS = "alerts:by_created"
PATTERN = "alerts:ix:*"  # every index key but ALL_ALERTS


def indexed(prefix: str) -> bool:
    """True when the prefix has indexes of its own (empty, or an administrative level)."""
    return prefix == "" or len(prefix) in LEVELS


def parent(prefix: str) -> str:
    """The longest indexed prefix strictly shorter than `prefix`."""
    return prefix[: max(n for n in (0, *LEVELS) if n < len(prefix))]


ALERT_PREFIX = "alerts:alert:"
ALERT_JSON = "json"  # the field of the alert's hash holding its JSON


def alert_key(alert_id: str) -> str:
    """Where the alert itself is stored (a hash: its JSON and its index fields)."""
    return f"{ALERT_PREFIX}{alert_id}"


def ordered_key(prefix: str, status: str | None = None, level: str | None = None) -> str:
    """The ids under `prefix` with that status and level (None: any), scored by created_at."""
    if prefix == "" and status is None and level is None:
        return ALL_ALERTS
    return f"alerts:ix:{prefix}:{status or ANY}:{level or ANY}"


def county_key(prefix: str) -> str:
    """The ids under `prefix` in the county queue."""
    return f"alerts:ix:{prefix}:county"


def due_key(prefix: str) -> str:
    """The open ids under `prefix` that have a pending deadline, scored by when they count as overdue."""
    return f"alerts:ix:{prefix}:due"


def counts_key(prefix: str) -> str:
    """Counts of the alerts under `prefix` by "{status}:{level}"."""
    return f"alerts:ix:{prefix}:counts"


def calibration_key(prefix: str) -> str:
    """The model's calibration counters of the alerts under `prefix` (alerts/monitoring.py)."""
    return f"alerts:ix:{prefix}:calibration"


def risk_key(prefix: str, risk_type: str) -> str:
    """The ids under `prefix` carrying a risk type, scored by created_at."""
    return f"alerts:ix:{prefix}:risk:{risk_type}"


def risk_counts_key(prefix: str) -> str:
    """Counts of the alerts under `prefix` by "{risk type}:{status}", and of flagged overdue ones by type."""
    return f"alerts:ix:{prefix}:risk_types"


def regions_key(prefix: str) -> str:
    """The prefixes one level down from `prefix` that hold alerts."""
    return f"alerts:ix:{prefix}:regions"


async def cover(redis: Redis, prefix: str) -> list[str]:
    """Indexed prefixes whose alerts together are exactly the alerts under `prefix` (any length)."""
    if indexed(prefix):
        return [prefix]
    below = await redis.smembers(regions_key(parent(prefix)))  # type: ignore[misc]
    return sorted(str(region) for region in below if str(region).startswith(prefix))


# Defines reindex(id, old, new, created, due): moves the alert from the keys of its stored state `old` (nil for a
# new alert) to those of `new` ({region_code, status, level, queue, calibration, risk: its risk types separated by
# spaces, late: '1' when open and flagged overdue}), `created` and `due` being its scores
# (`due` '' when it has no pending deadline). Sets are idempotent and counts move only with an applied version; only
# what the change moves is written (an evidence_added change leaves the counts and most sets alone). A new alert
# (no `old`) has nothing to move: its keys and counts are added directly, without the tables a move is computed in.
LUA = f"""
local LEVELS = {{{", ".join(map(str, LEVELS))}}}
local function prefixes(region)
  local out = {{''}}
  for _, n in ipairs(LEVELS) do
    if #region >= n then out[#out + 1] = string.sub(region, 1, n) end
  end
  return out
end
local function ordered_key(p, status, level)
  if p == '' and status == '{ANY}' and level == '{ANY}' then return '{ALL_ALERTS}' end
  return 'alerts:ix:' .. p .. ':' .. status .. ':' .. level
end
local function index_keys(a, ps, created, due)
  local keys = {{}}
  for _, p in ipairs(ps) do
    for _, status in ipairs({{a.status, '{ANY}'}}) do
      for _, level in ipairs({{a.level, '{ANY}'}}) do keys[ordered_key(p, status, level)] = created end
    end
    if a.queue == 'county' then keys['alerts:ix:' .. p .. ':county'] = created end
    if due ~= '' then keys['alerts:ix:' .. p .. ':due'] = due end
    for risk in string.gmatch(a.risk or '', '%S+') do keys['alerts:ix:' .. p .. ':risk:' .. risk] = created end
  end
  return keys
end
local function add(deltas, key, field, by)
  local fields = deltas[key]
  if not fields then fields = {{}}; deltas[key] = fields end
  fields[field] = (fields[field] or 0) + by
end
local function count(a, ps, by, deltas)
  local field, risks, tokens = a.status .. ':' .. a.level, {{}}, {{}}
  for risk in string.gmatch(a.risk or '', '%S+') do
    risks[#risks + 1] = risk .. ':' .. a.status
    if a.late == '1' then risks[#risks + 1] = risk .. ':overdue' end
  end
  for token in string.gmatch(a.calibration or '', '%S+') do  -- "field=increment" (monitoring.py)
    local name, step = string.match(token, '^(.*)=(%-?%d+)$')
    tokens[#tokens + 1] = {{name, by * tonumber(step)}}
  end
  for _, p in ipairs(ps) do
    local base = 'alerts:ix:' .. p .. ':'
    add(deltas, base .. 'counts', field, by)
    for _, risk in ipairs(risks) do add(deltas, base .. 'risk_types', risk, by) end
    for _, token in ipairs(tokens) do add(deltas, base .. 'calibration', token[1], token[2]) end
  end
end
local function incr(key, field, by)
  if redis.call('HINCRBY', key, field, by) == 0 then redis.call('HDEL', key, field) end
end
local function index_new(id, a, ps, created, due)  -- a new alert: every key and count is added, none moved
  local field, risks, tokens = a.status .. ':' .. a.level, {{}}, {{}}
  for risk in string.gmatch(a.risk or '', '%S+') do risks[#risks + 1] = risk end
  for token in string.gmatch(a.calibration or '', '%S+') do
    local name, step = string.match(token, '^(.*)=(%-?%d+)$')
    if tonumber(step) ~= 0 then tokens[#tokens + 1] = {{name, step}} end
  end
  local late = a.late == '1'
  for i, p in ipairs(ps) do
    local base = 'alerts:ix:' .. p .. ':'
    local ordered = {{base .. a.status .. ':' .. a.level, base .. a.status .. ':{ANY}', base .. '{ANY}:' .. a.level,
                     i == 1 and '{ALL_ALERTS}' or base .. '{ANY}:{ANY}'}}
    for _, key in ipairs(ordered) do redis.call('ZADD', key, created, id) end
    if a.queue == 'county' then redis.call('ZADD', base .. 'county', created, id) end
    if due ~= '' then redis.call('ZADD', base .. 'due', due, id) end
    incr(base .. 'counts', field, 1)
    for _, risk in ipairs(risks) do
      redis.call('ZADD', base .. 'risk:' .. risk, created, id)
      incr(base .. 'risk_types', risk .. ':' .. a.status, 1)
      if late then incr(base .. 'risk_types', risk .. ':overdue', 1) end
    end
    for _, token in ipairs(tokens) do incr(base .. 'calibration', token[1], token[2]) end
  end
  for i = 1, #ps - 1 do redis.call('SADD', 'alerts:ix:' .. ps[i] .. ':regions', ps[i + 1]) end
end
local function reindex(id, old, new, created, due)
  local ps = prefixes(new.region_code)
  if old == nil then return index_new(id, new, ps, created, due) end
  local keys, deltas = index_keys(new, ps, created, due), {{}}
  local old_ps = old.region_code == new.region_code and ps or prefixes(old.region_code)
  count(old, old_ps, -1, deltas)
  for key, score in pairs(index_keys(old, old_ps, created, 'left')) do  -- a due score, whatever it was: set it again
    if keys[key] == nil then redis.call('ZREM', key, id) elseif keys[key] == score then keys[key] = nil end
  end
  count(new, ps, 1, deltas)
  for key, fields in pairs(deltas) do  -- only what the change moves: an unchanged status leaves its counts alone
    for field, by in pairs(fields) do
      if by ~= 0 then incr(key, field, by) end
    end
  end
  for key, score in pairs(keys) do redis.call('ZADD', key, score, id) end
  if old.region_code ~= new.region_code then
    for i = 1, #ps - 1 do redis.call('SADD', 'alerts:ix:' .. ps[i] .. ':regions', ps[i + 1]) end
  end
end
"""
