"""Finding alerts through the indexes (index.py): one index page, or a bounded set of candidates.

A filter on status and level picks one index; a prefix between two administrative levels (say 7 digits) is covered
by the next level's indexes under it; the queue and overdue filters keep or drop the ids of the county queue and
of the overdue alerts, which are few: a page skips the dropped ones by their ranks. A risk type alone picks its own
index; with other filters it keeps the ids of its index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from services.alerts.deadlines import EPOCH, overdue_since
from services.alerts.index import (
    ALERT_JSON,
    ALERT_PREFIX,
    alert_key,
    county_key,
    cover,
    due_key,
    ordered_key,
    risk_key,
)
from services.common.alerts import Alert


@dataclass(frozen=True)
class AlertFilter:
    """What a caller may and wants to see; `region_prefix` is the caller's jurisdiction."""

    region_prefix: str = ""
    status: str | None = None
    level: str | None = None
    household_id: str | None = None
    region_code: str | None = None
    overdue: bool | None = None
    now: datetime | None = None  # overdue means flagged overdue when None
    queue: str | None = None
    risk_type: str | None = None

    def matches(self, alert: Alert) -> bool:
        """True when the alert passes every filter and lies inside the jurisdiction."""
        return (
            alert.region_code.startswith(self.region_prefix)
            and (self.region_code is None or alert.region_code.startswith(self.region_code))
            and (self.status is None or alert.status == self.status)
            and (self.level is None or alert.level == self.level)
            and (self.household_id is None or alert.household_id == self.household_id)
            and (self.overdue is None or self._is_overdue(alert) == self.overdue)
            and (self.queue is None or alert.queue == self.queue)
            and (self.risk_type is None or self.risk_type in alert.risk_types)
        )

    def _is_overdue(self, alert: Alert) -> bool:
        since = overdue_since(alert)
        return since is not None and since <= (self.now or EPOCH)

    def scope(self) -> str | None:
        """The prefix to search: the narrower of jurisdiction and `region_code`; None when they do not overlap."""
        wanted = self.region_code or ""
        if self.region_prefix.startswith(wanted):
            return self.region_prefix
        return wanted if wanted.startswith(self.region_prefix) else None


# The common case in one round trip: a page of one index, its size, and the alerts on the page.
_PAGE = f"""
local ids = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2])
local found = {{redis.call('ZCARD', KEYS[1])}}
for _, id in ipairs(ids) do
  local raw = redis.call('HGET', '{ALERT_PREFIX}' .. id, '{ALERT_JSON}')
  if raw then found[#found + 1] = raw end
end
return found
"""


class AlertIndex:
    """Reads pages of alerts, as stored (their JSON), through the indexes the projection keeps."""

    def __init__(self, redis: Redis):
        self._redis = redis
        self._page = redis.register_script(_PAGE)

    async def find(self, where: AlertFilter, offset: int, limit: int) -> tuple[list[str], int]:
        """The alerts matching `where` (but `household_id`), newest first, ties by id descending; the total."""
        prefix = where.scope()
        if prefix is None:
            return [], 0
        regions = await cover(self._redis, prefix)
        by_risk = where.risk_type is not None and where.status is None and where.level is None
        if by_risk:
            keys = [risk_key(region, str(where.risk_type)) for region in regions]
        else:
            keys = [ordered_key(region, where.status, where.level) for region in regions]
        include, exclude = await self._restrictions(regions, where, by_risk)
        if len(keys) == 1 and include is None and not exclude:
            total, *alerts = await self._page(keys=keys, args=[offset, offset + limit - 1])
            return [str(alert) for alert in alerts], int(total)
        if len(keys) == 1 and include is None:
            ids, total = await self._page_without(keys[0], exclude, offset, limit)
        else:
            ranked = await self._ranked(keys, include, exclude)
            ids, total = [alert_id for _, alert_id in ranked[offset : offset + limit]], len(ranked)
        async with self._redis.pipeline(transaction=False) as pipe:
            for alert_id in ids:
                pipe.hget(alert_key(alert_id), ALERT_JSON)
            found = await pipe.execute() if ids else []
        return [str(alert) for alert in found if alert], total

    async def _restrictions(
        self, regions: list[str], where: AlertFilter, by_risk: bool
    ) -> tuple[set[str] | None, set[str]]:
        """The ids the queue, overdue and risk type filters keep (None: no such filter) and those they drop (the
        risk type's own index when it is not the one read: `by_risk`)."""
        keeps: list[bool] = []
        async with self._redis.pipeline(transaction=False) as pipe:
            if where.risk_type is not None and not by_risk:
                keeps.append(True)
                for region in regions:
                    pipe.zrange(risk_key(region, where.risk_type), 0, -1)
            if where.queue is not None:
                keeps.append(where.queue == "county")
                for region in regions:
                    pipe.zrange(county_key(region), 0, -1)
            if where.overdue is not None:
                keeps.append(where.overdue)
                for region in regions:
                    pipe.zrangebyscore(due_key(region), "-inf", (where.now or EPOCH).timestamp())
            found = await pipe.execute() if keeps else []
        include: set[str] | None = None
        exclude: set[str] = set()
        for n, keep in enumerate(keeps):
            ids = {str(alert_id) for part in found[n * len(regions) : (n + 1) * len(regions)] for alert_id in part}
            if keep:
                include = ids if include is None else include & ids
            else:
                exclude |= ids
        return include, exclude

    async def _page_without(self, key: str, exclude: set[str], offset: int, limit: int) -> tuple[list[str], int]:
        """Ids on one page of an index without the excluded ones, whose ranks tell where the page starts."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(key)
            for alert_id in exclude:
                pipe.zrevrank(key, alert_id)
            size, *found = await pipe.execute()
        ranks = sorted(rank for rank in found if rank is not None)
        start = offset
        for rank in ranks:  # every excluded id at or before the start pushes the start one further
            if rank > start:
                break
            start += 1
        skipped = sum(rank > start for rank in ranks)
        window = await self._redis.zrevrange(key, start, start + limit - 1 + skipped)
        return [str(i) for i in window if str(i) not in exclude][:limit], int(size) - len(ranks)

    async def _ranked(self, keys: list[str], include: set[str] | None, exclude: set[str]) -> list[tuple[float, str]]:
        """(created_at, id) of every candidate in the keys, newest first: the included ids, or all the keys hold."""
        scores: dict[str, float] = {}
        candidates = sorted(include - exclude) if include is not None else []
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                if include is None:
                    pipe.zrange(key, 0, -1, withscores=True)
                elif candidates:
                    pipe.zmscore(key, candidates)
            for found in await pipe.execute():
                if include is None:
                    scores.update((str(alert_id), score) for alert_id, score in found)
                else:
                    scores.update((i, score) for i, score in zip(candidates, found, strict=True) if score is not None)
        return sorted(((score, i) for i, score in scores.items() if i not in exclude), reverse=True)
