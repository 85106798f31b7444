"""`GET /ledger.csv`: a township's ledger (台账), identifiers masked.

The ledger is streamed (LEDGER_CHUNK alerts read and written at a time, from a snapshot of the township's ids), and
at most LEDGER_CONCURRENCY exports run at once per API process: past that, 429 with Retry-After. All exports of a
process together write LEDGER_ROWS_PER_SECOND lines a second at most (each chunk waits for its turn), so that exports
can neither run the process out of Redis connections nor take more than a small share of the time the staff's lists
need (measured: `api_alerts_crowd_vs_alone_p99_ratio` in `make bench`). Each chunk is fetched in one Redis
call and its stored JSON read into `LedgerCase`, only the fields a ledger line shows (not the whole Alert model):
an export costs the process a fraction of what listing the same alerts does.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Literal

import msgspec
from fastapi import APIRouter, HTTPException
from fastapi.responses import Response, StreamingResponse
from redis.exceptions import RedisError

from services.alerts.deadlines import counts_as_overdue
from services.api.dependencies import Alerts, Audit, LedgerBudget, Regions
from services.api.permissions import Caseworker
from services.api.scoped import ScopedTownship
from services.common.risk_types import label
from services.common.spreadsheets import spreadsheet_writer

router = APIRouter(tags=["stats"])
LEDGER_CHUNK = 500
RETRY_AFTER = "10"  # seconds, for a refused export


class _Reason(msgspec.Struct):
    message_zh: str
    message_en: str


class _Deadline(msgspec.Struct):
    name: str
    due_at: datetime


class _Visit(msgspec.Struct):
    visited_at: datetime


class _Measure(msgspec.Struct):
    type: str


class _Review(msgspec.Struct):
    step: str


class LedgerCase(msgspec.Struct):
    """The fields of a stored alert that its ledger line shows (the rest of the stored JSON is skipped)."""

    id: str
    household_id: str
    region_code: str
    level: str
    created_at: datetime
    due_at: datetime
    status: str = "open"
    reasons: list[_Reason] = []
    overdue: bool = False
    deadlines: list[_Deadline] = []
    visit: _Visit | None = None
    category: str | None = None
    measures: list[_Measure] = []
    risk_types: list[str] = []
    risk_types_review: _Review | None = None


_read_case = msgspec.json.Decoder(LedgerCase).decode


def mask_household(household_id: str) -> str:
    """Keep the first 3 and last 2 characters (1 and 0 for short ids); the rest become asterisks."""
    head, tail = (3, 2) if len(household_id) > 6 else (1, 0)
    return household_id[:head] + "*" * (len(household_id) - head - tail) + household_id[len(household_id) - tail :]


_COLUMNS = {
    "zh": ["预警编号", "户编号(脱敏)", "村", "村(行政区划代码)", "预警等级", "状态", "预警原因", "预警时间", "认定期限",
           "是否逾期", "入户核实时间", "认定类别", "帮扶措施", "风险类型", "风险类型核定"],
    "en": ["alert_id", "household (masked)", "village", "village code", "level", "status", "reasons", "raised at",
           "decide by", "overdue", "visited at", "category", "measures", "risk types", "risk types set by"],
}  # fmt: skip
# Who set the risk types: the evidence (proposed), the worker at the home visit, the county at confirmation.
_SET_BY = {"zh": {"": "系统建议", "home_visit": "入户核实", "confirmation": "县级认定"},
           "en": {"": "proposed", "home_visit": "home visit", "confirmation": "county confirmation"}}  # fmt: skip


def ledger_line(case: LedgerCase, place: str, lang: str, now: datetime) -> list[str]:
    """One alert's line of the ledger, in the columns of `lang`."""
    reasons = [r.message_zh if lang == "zh" else r.message_en for r in case.reasons]
    return [
        case.id,
        mask_household(case.household_id),
        place,
        case.region_code,
        case.level,
        case.status,
        "；".join(reasons) if lang == "zh" else "; ".join(reasons),
        case.created_at.isoformat(),
        case.due_at.isoformat(),
        "1" if counts_as_overdue(case, now) else "0",
        case.visit.visited_at.isoformat() if case.visit else "",
        case.category or "",
        " ".join(m.type for m in case.measures),
        ("、" if lang == "zh" else "; ").join(label(risk_type, lang) for risk_type in case.risk_types),
        _SET_BY[lang][case.risk_types_review.step if case.risk_types_review else ""] if case.risk_types else "",
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
    user: Caseworker,
    township: ScopedTownship,
    budget: LedgerBudget,
    store: Alerts,
    places: Regions,
    audit: Audit,
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """Every alert of the township, newest first, its village named; no personal names, no ID numbers, no notes; the
    export is audited."""
    if not budget.take():
        raise HTTPException(429, "too many ledger exports at once: try again shortly", {"Retry-After": RETRY_AFTER})
    try:
        ids = await store.ids_under(township)
        await audit.record(user.username, "ledger.export", township, region=township)
    except (RedisError, OSError) as exc:
        budget.give_back()
        raise HTTPException(503, f"the ledger cannot be read now: {exc}", {"Retry-After": RETRY_AFTER}) from exc
    except BaseException:
        budget.give_back()
        raise
    now = datetime.now(UTC)

    async def rows() -> AsyncIterator[str]:
        try:
            yield "\ufeff" + _csv([_COLUMNS[lang]])  # the byte-order mark lets spreadsheets read the Chinese as UTF-8
            for first in range(0, len(ids), LEDGER_CHUNK):
                chunk = ids[first : first + LEDGER_CHUNK]
                await budget.pace(len(chunk))
                cases = [_read_case(raw) for raw in await store.stored(chunk)]
                names = await places.names_of(case.region_code for case in cases)  # one lookup a chunk
                yield _csv(ledger_line(case, names[case.region_code], lang, now) for case in cases)
        finally:
            budget.give_back()

    filename = f"ledger-{township}-{now:%Y%m%d}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=headers)


def _csv(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    spreadsheet_writer(out).writerows(rows)
    return out.getvalue()
