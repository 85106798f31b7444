"""The official workflow: which status may follow which, who may move it, and what each step needs."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field, field_validator

from services.alerts.causes import reviewed
from services.alerts.deadlines import with_overdue_flag
from services.alerts.resolution import unmet_criteria
from services.common.alerts import Alert, HistoryEntry, Measure, Status, Visit
from services.common.china_time import CHINA
from services.common.identity import holds_resident_id
from services.common.money import Yuan
from services.common.policy import PolicyValues
from services.common.risk_types import RISK_TYPES, MeasureType, RiskType
from services.common.scores import Category

WORKER, SUPERVISOR = "township_worker", "county_supervisor"
# (from, to) -> the roles that may make the move
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("open", "verifying"): frozenset({WORKER}),
    ("verifying", "reviewing"): frozenset({WORKER}),
    ("open", "dismissed"): frozenset({WORKER}),
    ("verifying", "dismissed"): frozenset({WORKER}),
    ("reviewing", "dismissed"): frozenset({WORKER, SUPERVISOR}),
    ("reviewing", "confirmed"): frozenset({SUPERVISOR}),
    ("confirmed", "assisting"): frozenset({WORKER, SUPERVISOR}),
    ("assisting", "resolved"): frozenset({SUPERVISOR}),
}
MEASURE_ROLES = frozenset({WORKER, SUPERVISOR})
MEASURE_STATUSES = frozenset({"confirmed", "assisting"})


def _text_only(value: Any) -> Any:
    if not isinstance(value, str | datetime | date):
        raise ValueError("a date YYYY-MM-DD or a date and time with its offset (RFC 3339)")
    return value


def _no_resident_id(text: str) -> str:
    if holds_resident_id(text):
        raise ValueError("contains a resident ID number: notes name people by role, never by ID (privacy)")
    return text


PersonsText = Annotated[str, AfterValidator(_no_resident_id)]  # free text a worker writes
VisitTime = Annotated[AwareDatetime | date, Field(union_mode="left_to_right"), BeforeValidator(_text_only)]
# A person's list of a case's risk types: each at most once (the document says so: uniqueItems).
RiskTypeList = Annotated[
    list[RiskType], Field(min_length=1, max_length=len(RISK_TYPES), json_schema_extra={"uniqueItems": True})
]
ExpectedVersion = Annotated[
    int | None,
    Field(default=None, ge=1, description="optional: refuse (409) unless the alert is still at this version"),
]


class Refusal(Exception):
    """A refused action: `kind` is role (403), state or criteria (409), or input (422)."""

    def __init__(self, kind: Literal["role", "state", "criteria", "input"], message: str, **details: Any):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


class TransitionRequest(BaseModel):
    """Body of `POST /alerts/{id}/transitions`."""

    to: Status
    note: PersonsText = Field(default="", max_length=2000)
    expected_version: ExpectedVersion = None
    category: Category | None = None
    reason: PersonsText | None = Field(default=None, min_length=1, max_length=500)
    visited_at: VisitTime | None = None
    consent: bool | None = None
    risk_types: RiskTypeList | None = Field(
        default=None,
        description="optional, at the home visit (reviewing) or the county's confirmation: the case's risk types, "
        "main first, as the person confirms or corrects them (each once)",
    )

    @field_validator("risk_types")
    @classmethod
    def _each_once(cls, value: list[RiskType] | None) -> list[RiskType] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each risk type at most once")
        return value

    def visit_time(self) -> datetime | None:
        """`visited_at` as a moment: a date alone is the start of that day in China."""
        if self.visited_at is None or isinstance(self.visited_at, datetime):
            return self.visited_at
        return datetime.combine(self.visited_at, time(), CHINA)


class MeasureRequest(BaseModel):
    """Body of `POST /alerts/{id}/measures`."""

    type: MeasureType
    amount: Yuan
    date: date
    note: PersonsText = Field(default="", max_length=500)
    expected_version: ExpectedVersion = None


def allowed_from(status: str) -> list[dict[str, Any]]:
    """The moves the workflow allows from `status`, each with the roles that may make it."""
    return [{"to": to, "roles": sorted(roles)} for (src, to), roles in TRANSITIONS.items() if src == status]


def _visit(request: TransitionRequest, actor: str, now: datetime, earliest: date, required: bool) -> Visit | None:
    visited_at = request.visit_time()
    if visited_at is None:
        if required:
            raise Refusal("input", "village review needs the home visit: visited_at and consent")
        return None
    if visited_at > now:
        raise Refusal("input", "visited_at lies in the future")
    if visited_at.astimezone(CHINA).date() < earliest:
        raise Refusal("input", f"visited_at lies before {earliest}, the start of the policy history")
    return Visit(visited_at=visited_at, by=actor, note=request.note, consent=bool(request.consent))


def _step(
    alert: Alert, request: TransitionRequest, actor: str, policy: PolicyValues, now: datetime, earliest: date
) -> dict[str, Any]:
    to = request.to
    if to == "verifying":
        return {"assignee": actor}
    if to == "reviewing":
        if request.consent is not True:
            raise Refusal("input", "village review needs the household's signed consent (consent: true)")
        return {"visit": _visit(request, actor, now, earliest, required=True), "review_started_at": now}
    if to == "dismissed":
        if not request.reason:
            raise Refusal("input", "a dismissal needs a reason")
        visit = _visit(request, actor, now, earliest, required=False) or alert.visit
        return {"dismissed_at": now, "dismissal_reason": request.reason, "visit": visit}
    if to == "confirmed":
        if request.category is None:
            raise Refusal("input", "confirmation needs a category: unstable_exited, marginal or sudden_hardship")
        notice_ends = (alert.review_started_at or now) + policy.public_notice_min
        if now < notice_ends:
            raise Refusal(
                "criteria",
                f"the public notice runs until {notice_ends.isoformat()}",
                notice_ends=notice_ends.isoformat(),
            )
        return {"category": request.category, "confirmed_at": now}
    if to == "assisting":
        if not alert.measures:
            raise Refusal("criteria", "assistance needs at least one measure recorded first")
        return {}
    return {"resolved_at": now}  # resolved: the criteria are checked by the caller of _step


def _risk_types(
    alert: Alert, request: TransitionRequest, actor: str, now: datetime
) -> tuple[dict[str, Any], list[HistoryEntry]]:
    """The worker confirms or corrects the risk types at the home visit (when sent), the county at confirmation."""
    if request.to == "confirmed":
        return reviewed(alert, request.risk_types, actor, now, "confirmation")
    if request.risk_types is None:
        return {}, []
    if request.to != "reviewing":
        raise Refusal("input", "risk_types are confirmed or corrected at the home visit (reviewing) or at confirmation")
    return reviewed(alert, request.risk_types, actor, now, "home_visit")


def apply_transition(
    alert: Alert,
    request: TransitionRequest,
    actor: str,
    role: str,
    policy: PolicyValues,
    household: dict[str, Any] | None,
    now: datetime,
    earliest: date,
) -> Alert:
    """The alert after the move, or a Refusal saying why not (wrong status, role, input or unmet criteria); a visit
    must lie between `earliest` (the start of the policy history) and now."""
    roles = TRANSITIONS.get((alert.status, request.to))
    if roles is None:
        allowed = allowed_from(alert.status)
        moves = ", ".join(f"{m['to']} ({' or '.join(m['roles'])})" for m in allowed) or "none: the case is closed"
        raise Refusal(
            "state",
            f"the alert is {alert.status}; from there it may go to: {moves}",
            status=alert.status,
            allowed=allowed,
        )
    if role not in roles:
        raise Refusal("role", f"moving an alert to {request.to} needs the role {' or '.join(sorted(roles))}")
    update = _step(alert, request, actor, policy, now, earliest)
    if request.to == "resolved" and (unmet := unmet_criteria(alert, household, policy, now)):
        raise Refusal("criteria", "risk elimination refused: criteria not met", unmet=unmet)
    review, reviews = _risk_types(alert, request, actor, now)
    entry = HistoryEntry(at=now, by=actor, change=request.to, note=request.reason or request.note or None)
    changed = alert.model_copy(
        update={
            **update,
            **review,
            "status": request.to,
            "updated_at": now,
            "version": alert.version + 1,
            "history": [*alert.history, entry, *reviews],
        }
    )
    return with_overdue_flag(changed)


def add_measure(alert: Alert, request: MeasureRequest, actor: str, role: str, now: datetime, earliest: date) -> Alert:
    """The alert with one more assistance measure, or a Refusal (wrong role, not confirmed yet, or a date outside
    the plausible window: from `earliest`, the start of the policy history, to today in China)."""
    if role not in MEASURE_ROLES:
        raise Refusal("role", f"recording a measure needs the role {' or '.join(sorted(MEASURE_ROLES))}")
    if alert.status not in MEASURE_STATUSES:
        raise Refusal("state", f"the alert is {alert.status}; measures are recorded once it is confirmed")
    today = now.astimezone(CHINA).date()
    if not earliest <= request.date <= today:
        raise Refusal("input", f"date {request.date} lies outside {earliest} to {today} (today in China)")
    measure = Measure(
        type=request.type,
        amount=request.amount,
        date=request.date,
        note=request.note,
        recorded_by=actor,
        recorded_at=now,
    )
    entry = HistoryEntry(at=now, by=actor, change="measure_added", note=f"{request.type} {request.amount} yuan")
    return alert.model_copy(
        update={
            "measures": [*alert.measures, measure],
            "updated_at": now,
            "version": alert.version + 1,
            "history": [*alert.history, entry],
        }
    )
