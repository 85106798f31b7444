"""`GET /stats`: the 动态清零 board, open and overdue counts by level, status, risk type and township (read from
counters)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.alerts.tally import Tally
from services.api.dependencies import Alerts
from services.api.permissions import Staff
from services.api.scoped import ScopedRegion
from services.common.risk_types import RISK_TYPES

router = APIRouter(tags=["stats"])


class RiskTypeCounts(BaseModel):
    """The cases carrying one risk type (a case with two types counts under both)."""

    open: int = Field(0, description="neither dismissed nor resolved")
    confirmed: int = Field(0, description="confirmed as monitored households, not yet resolved (confirmed, assisting)")
    overdue: int = Field(0, description="open and flagged overdue")


class TownshipCounts(BaseModel):
    """One township's row of the board."""

    township: str = Field(examples=["532328101"])
    total: int
    open: int
    overdue: int
    red: int = Field(description="open red alerts")
    yellow: int = Field(description="open yellow alerts")
    by_risk_type: dict[str, RiskTypeCounts] = Field(
        default_factory=dict, description="a v1 addition: per risk type the township's cases carry"
    )


class Stats(BaseModel):
    """Counts of the alerts inside the caller's jurisdiction (and `region_code`, if given)."""

    region_code: str = Field(description="the prefix counted", examples=["532328"])
    generated_at: datetime
    total: int
    open: int = Field(description="neither dismissed nor resolved")
    overdue: int = Field(description="open with a missed deadline")
    by_level: dict[str, int] = Field(description="open alerts by level", examples=[{"red": 3, "yellow": 5}])
    by_status: dict[str, int] = Field(examples=[{"open": 2, "verifying": 1, "dismissed": 4}])
    by_township: list[TownshipCounts] = Field(description="by region_code[:9], most open first")
    by_risk_type: dict[str, RiskTypeCounts] = Field(
        default_factory=dict,
        description="a v1 addition: per risk type (every type of the vocabulary, in its order), the cases carrying it",
        examples=[{"illness": {"open": 3, "confirmed": 1, "overdue": 0}}],
    )


def _township_row(tally: Tally) -> TownshipCounts:
    opened = tally.open_by_level()
    return TownshipCounts(
        township=tally.township,
        total=tally.total,
        open=opened.total(),
        overdue=tally.overdue,
        red=opened["red"],
        yellow=opened["yellow"],
        by_risk_type={name: RiskTypeCounts(**counted) for name, counted in tally.by_risk_type().items()},
    )


def board(prefix: str, now: datetime, tallies: list[Tally]) -> Stats:
    """The board of a prefix from the tallies of its townships."""
    rows = sorted((_township_row(tally) for tally in tallies), key=lambda r: (-r.open, r.township))
    by_status: Counter[str] = Counter()
    by_level: Counter[str] = Counter({"red": 0, "yellow": 0})
    by_risk_type: dict[str, Counter[str]] = {name: Counter() for name in RISK_TYPES}
    for tally in tallies:
        for (status, _), n in tally.counts.items():
            by_status[status] += n
        by_level.update(tally.open_by_level())
        for name, counted in tally.by_risk_type().items():
            by_risk_type.setdefault(name, Counter()).update(counted)
    return Stats(
        region_code=prefix,
        generated_at=now,
        total=sum(row.total for row in rows),
        open=sum(row.open for row in rows),
        overdue=sum(row.overdue for row in rows),
        by_level=dict(by_level),
        by_status=dict(by_status),
        by_township=rows,
        by_risk_type={name: RiskTypeCounts(**counted) for name, counted in by_risk_type.items()},
    )


@router.get("/stats", response_model=Stats, summary="The 动态清零 board: open and overdue counts")
async def stats(user: Staff, prefix: ScopedRegion, store: Alerts) -> Stats:
    """Open and overdue alerts by level, status and township, inside your jurisdiction only (read from counters)."""
    now = datetime.now(UTC)
    return board(prefix, now, await store.tallies(prefix, now))
