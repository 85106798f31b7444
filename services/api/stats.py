"""`GET /stats` (the 动态清零 board) and `GET /ledger.csv` (a township's ledger, 台账, identifiers masked).

The ledger is streamed (LEDGER_CHUNK alerts read and written at a time, from a snapshot of the township's ids), and
at most LEDGER_CONCURRENCY exports run at once per API process: past that, 429 with Retry-After, so that exports
can neither run the process out of Redis connections nor slow the staff's lists.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from services.alerts.deadlines import counts_as_overdue
from services.alerts.models import Alert
from services.alerts.store import AlertStore
from services.alerts.tally import Tally
from services.api.audit import AuditTrail
from services.api.permissions import Staff
from services.regions.directory import RegionDirectory

router = APIRouter(tags=["stats"])
LEDGER_CHUNK = 500
RETRY_AFTER = "10"  # seconds, for a refused export


class ExportSlots:
    """How many ledger exports this process may still start."""

    def __init__(self, slots: int):
        self._free = slots

    def take(self) -> bool:
        """Claim a slot; False when all are in use."""
        if self._free <= 0:
            return False
        self._free -= 1
        return True

    def give_back(self) -> None:
        """Release a slot once an export has ended."""
        self._free += 1


class TownshipCounts(BaseModel):
    """One township's row of the board."""

    township: str = Field(examples=["532328101"])
    total: int
    open: int
    overdue: int
    red: int = Field(description="open red alerts")
    yellow: int = Field(description="open yellow alerts")


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


def _township_row(tally: Tally) -> TownshipCounts:
    opened = tally.open_by_level()
    return TownshipCounts(
        township=tally.township,
        total=tally.total,
        open=opened.total(),
        overdue=tally.overdue,
        red=opened["red"],
        yellow=opened["yellow"],
    )


def board(prefix: str, now: datetime, tallies: list[Tally]) -> Stats:
    """The board of a prefix from the tallies of its townships."""
    rows = sorted((_township_row(tally) for tally in tallies), key=lambda r: (-r.open, r.township))
    by_status: Counter[str] = Counter()
    by_level: Counter[str] = Counter({"red": 0, "yellow": 0})
    for tally in tallies:
        for (status, _), n in tally.counts.items():
            by_status[status] += n
        by_level.update(tally.open_by_level())
    return Stats(
        region_code=prefix,
        generated_at=now,
        total=sum(row.total for row in rows),
        open=sum(row.open for row in rows),
        overdue=sum(row.overdue for row in rows),
        by_level=dict(by_level),
        by_status=dict(by_status),
        by_township=rows,
    )


@router.get("/stats", response_model=Stats, summary="The 动态清零 board: open and overdue counts")
async def stats(
    request: Request,
    user: Staff,
    region_code: Annotated[str | None, Query(pattern=r"^\d{2,12}$", examples=["532328"])] = None,
) -> Stats:
    """Open and overdue alerts by level, status and township, inside your jurisdiction only (read from counters)."""
    prefix = user.narrow(region_code)
    now = datetime.now(UTC)
    store: AlertStore = request.app.state.alerts
    return board(prefix, now, await store.tallies(prefix, now))


def mask_household(household_id: str) -> str:
    """Keep the first 3 and last 2 characters (1 and 0 for short ids); the rest become asterisks."""
    head, tail = (3, 2) if len(household_id) > 6 else (1, 0)
    return household_id[:head] + "*" * (len(household_id) - head - tail) + household_id[len(household_id) - tail :]


_COLUMNS = {
    "zh": ["预警编号", "户编号(脱敏)", "村", "村(行政区划代码)", "预警等级", "状态", "预警原因", "预警时间", "认定期限",
           "是否逾期", "入户核实时间", "认定类别", "帮扶措施"],
    "en": ["alert_id", "household (masked)", "village", "village code", "level", "status", "reasons", "raised at",
           "decide by", "overdue", "visited at", "category", "measures"],
}  # fmt: skip


def _row(alert: Alert, place: str, lang: str, now: datetime) -> list[str]:
    reasons = [r.message_zh if lang == "zh" else r.message_en for r in alert.reasons]
    return [
        alert.id,
        mask_household(alert.household_id),
        place,
        alert.region_code,
        alert.level,
        alert.status,
        "；".join(reasons) if lang == "zh" else "; ".join(reasons),
        alert.created_at.isoformat(),
        alert.due_at.isoformat(),
        "1" if counts_as_overdue(alert, now) else "0",
        alert.visit.visited_at.isoformat() if alert.visit else "",
        alert.category or "",
        " ".join(m.type for m in alert.measures),
    ]


@router.get(
    "/ledger.csv",
    summary="A township's ledger (台账) as CSV, identifiers masked",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"example": "alert_id,household (masked),...\r\n"}}},
        429: {"description": "LEDGER_CONCURRENCY exports are running: try again after Retry-After seconds"},
    },
)
async def ledger(
    request: Request,
    user: Staff,
    township: Annotated[str, Query(pattern=r"^\d{9}$", description="9-digit township code", examples=["532328101"])],
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """Every alert of the township, newest first, its village named; no personal names, no ID numbers, no notes; the
    export is audited."""
    user.require(township, f"township {township}")
    slots: ExportSlots = request.app.state.ledger_slots
    if not slots.take():
        raise HTTPException(429, "too many ledger exports at once: try again shortly", {"Retry-After": RETRY_AFTER})
    store: AlertStore = request.app.state.alerts
    places: RegionDirectory = request.app.state.regions
    try:
        ids = await store.ids_under(township)
        audit: AuditTrail = request.app.state.audit
        await audit.record(user.username, "ledger.export", township, region=township)
    except (RedisError, OSError) as exc:
        slots.give_back()
        raise HTTPException(503, f"the ledger cannot be read now: {exc}", {"Retry-After": RETRY_AFTER}) from exc
    except BaseException:
        slots.give_back()
        raise
    now = datetime.now(UTC)

    async def rows() -> AsyncIterator[str]:
        try:
            yield "\ufeff" + _csv([_COLUMNS[lang]])  # the byte-order mark lets spreadsheets read the Chinese as UTF-8
            for first in range(0, len(ids), LEDGER_CHUNK):
                alerts = await store.many(ids[first : first + LEDGER_CHUNK])
                names = await places.names_of(alert.region_code for alert in alerts)  # one lookup a chunk
                yield _csv(_row(alert, names[alert.region_code], lang, now) for alert in alerts)
        finally:
            slots.give_back()

    filename = f"ledger-{township}-{now:%Y%m%d}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


def _csv(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()
