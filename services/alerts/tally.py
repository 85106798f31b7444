"""Counting alerts per township from the counters and due sets the projection keeps (index.py), for the board: by
status and level, overdue, and by risk type."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis

from services.alerts.index import TOWNSHIP, counts_key, cover, due_key, regions_key, risk_counts_key
from services.common.alerts import CLOSED_STATUSES
from services.common.risk_types import RISK_TYPES

CONFIRMED_STATUSES = frozenset({"confirmed", "assisting"})  # identified as monitored households, not yet resolved


@dataclass
class Tally:
    """A township's alerts under a prefix: how many by (status, level), and how many open ones are overdue."""

    township: str
    counts: Counter[tuple[str, str]]
    overdue: int
    risks: Counter[tuple[str, str]] = field(default_factory=Counter)  # (risk type, status or "overdue")

    @property
    def total(self) -> int:
        """Every alert, open or closed."""
        return sum(self.counts.values())

    def open_by_level(self) -> Counter[str]:
        """Open alerts by level."""
        opened: Counter[str] = Counter()
        for (status, level), n in self.counts.items():
            if status not in CLOSED_STATUSES:
                opened[level] += n
        return opened

    def by_risk_type(self) -> dict[str, Counter[str]]:
        """Per risk type, in the policy's order of risk types (not Redis's order of a hash's fields, which the order
        of past changes decides): open (neither dismissed nor resolved), confirmed (confirmed or assisting), overdue."""
        found: dict[str, Counter[str]] = {}
        for (risk_type, status), n in self.risks.items():
            counted = found.setdefault(risk_type, Counter())
            if status == "overdue":
                counted["overdue"] += n
                continue
            if status not in CLOSED_STATUSES:
                counted["open"] += n
            if status in CONFIRMED_STATUSES:
                counted["confirmed"] += n
        order: dict[str, int] = {name: n for n, name in enumerate(RISK_TYPES)}
        return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


async def tallies(redis: Redis, prefix: str, now: datetime) -> list[Tally]:
    """One tally per township holding alerts under `prefix`, read from the counts and due sets only."""
    if len(prefix) >= TOWNSHIP:
        groups = {prefix[:TOWNSHIP]: await cover(redis, prefix)}
    else:
        groups = {township: [township] for township in await _townships(redis, prefix)}
    async with redis.pipeline(transaction=False) as pipe:
        for regions in groups.values():
            for region in regions:
                pipe.hgetall(counts_key(region))
                pipe.zcount(due_key(region), "-inf", now.timestamp())
                pipe.hgetall(risk_counts_key(region))
        found = iter(await pipe.execute())
    result = []
    for township, regions in groups.items():
        tally = Tally(township, Counter(), 0)
        for _ in regions:
            for counted, n in next(found).items():
                status, _, level = str(counted).partition(":")
                tally.counts[status, level] += int(n)
            tally.overdue += int(next(found))
            for field_name, n in next(found).items():
                risk_type, _, status = str(field_name).partition(":")
                tally.risks[risk_type, status] += int(n)
        if tally.total:
            result.append(tally)
    return result


async def _townships(redis: Redis, prefix: str) -> list[str]:
    """The townships holding alerts under a prefix shorter than a township's, one level down at a time."""
    regions = await cover(redis, prefix)
    while regions and len(regions[0]) < TOWNSHIP:
        async with redis.pipeline(transaction=False) as pipe:
            for region in regions:
                pipe.smembers(regions_key(region))
            below = await pipe.execute()
        regions = sorted({str(region) for found in below for region in found if str(region).startswith(prefix)})
    return regions
