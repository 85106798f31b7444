"""The alert: one case per household, as stored in Redis and returned by the API; and each change of it, the message
on `alerts.changes` (the system of record)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from services.common.risk_types import MeasureType, RiskType
from services.common.scores import Category, Level, Reason, RiskTypeProposal

Status = Literal["open", "verifying", "reviewing", "confirmed", "dismissed", "assisting", "resolved"]
DeadlineName = Literal["home_visit", "decision"]


def _whole_fen(amount: float) -> float:
    if round(amount, 2) != amount:
        raise ValueError("at most 2 decimals (yuan and fen)")
    return amount


Yuan = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_whole_fen)]
CLOSED_STATUSES: frozenset[str] = frozenset({"dismissed", "resolved"})


class HistoryEntry(BaseModel):
    """One change of an alert: who (a person or `system`), when, what."""

    at: datetime
    by: str
    change: str
    level: Level | None = None
    score_id: str | None = None
    note: str | None = None
    risk_types: list[RiskType] | None = Field(default=None, description="risk types as confirmed or corrected")
    risk_types_before: list[RiskType] | None = Field(default=None, description="the risk types before the correction")


class Visit(BaseModel):
    """The home visit (入户核实) as recorded by the township worker."""

    visited_at: datetime
    by: str
    note: str
    consent: bool


class Measure(BaseModel):
    """One assistance measure (帮扶措施) the household received."""

    type: MeasureType
    amount: Yuan
    date: date
    note: str = ""
    recorded_by: str
    recorded_at: datetime


class RiskTypeReview(BaseModel):
    """A person's confirmation or correction of the case's risk types: the worker at the home visit, the county at
    confirmation; types proposed later than it, and not among those it saw, are added after its list."""

    by: str
    at: datetime
    step: Literal["home_visit", "confirmation"]
    proposed: list[RiskType] = Field(description="the risk types the evidence proposed when the person decided")
    corrected: bool = Field(description="the person's list differs from the one the case had")


class Deadline(BaseModel):
    """A policy deadline of the case, its reminder time, and whether either has fired."""

    name: DeadlineName
    due_at: datetime
    remind_at: datetime
    reminded: bool = False
    missed: bool = False


class Alert(BaseModel):
    """A household's case from warning to decision and on to risk elimination."""

    id: str
    household_id: str
    region_code: str
    level: Level
    status: Status = "open"
    reasons: list[Reason]
    created_at: datetime
    updated_at: datetime
    due_at: datetime  # the decision deadline (identification_within after the warning)
    policy_version: str
    version: int = 1
    score_ids: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    inbox: str = ""  # the township's inbox: region_code[:9]
    queue: Literal["township", "county"] = "township"  # county once a deadline was missed (escalation)
    overdue: bool = False
    deadlines: list[Deadline] = Field(default_factory=list)
    assignee: str | None = None
    visit: Visit | None = None
    review_started_at: datetime | None = None
    category: Category | None = None
    confirmed_at: datetime | None = None
    dismissed_at: datetime | None = None
    dismissal_reason: str | None = None
    measures: list[Measure] = Field(default_factory=list)
    resolved_at: datetime | None = None
    reopened_from: str | None = None
    history_dropped: int = Field(default=0, description="older history entries no longer kept (ALERTS_HISTORY_KEPT)")
    probability: float | None = Field(default=None, description="the model's probability in the latest score joined")
    model_version: str | None = Field(default=None, description="the model version of that score (None: rules only)")
    risk_types: list[RiskType] = Field(
        default_factory=list, description="the case's risk types (风险类型), main first: proposed, then as reviewed"
    )
    risk_type_proposals: list[RiskTypeProposal] = Field(
        default_factory=list, description="what the evidence of the joined scores proposed, with its words"
    )
    risk_types_review: RiskTypeReview | None = Field(default=None, description="the latest confirmation or correction")

    @property
    def is_open(self) -> bool:
        """Still in the workflow (neither dismissed nor resolved)."""
        return self.status not in CLOSED_STATUSES

    def with_history_kept(self, kept: int) -> Alert:
        """The alert keeping only its newest `kept` history entries, counting the ones it drops."""
        dropped = len(self.history) - kept
        if dropped <= 0:
            return self
        update = {"history": self.history[dropped:], "history_dropped": self.history_dropped + dropped}
        return self.model_copy(update=update)


class Change(BaseModel):
    """One change: the alert's full new state, valid only on top of `from_version` (0 = a new alert)."""

    change_id: str
    alert_id: str
    household_id: str
    from_version: int
    kind: str  # raised, reopened, evidence_added, escalated, a status, measure_added, reminder:*, overdue:*
    by: str
    at: datetime
    alert: Alert

    @property
    def score_id(self) -> str | None:
        """The score behind the change (raised, reopened, evidence_added, escalated), None for others."""
        return self.alert.history[-1].score_id if self.alert.history else None

    def summary_json(self) -> str:
        """What the live stream and webhooks carry: the change and the alert's headline, no notes or figures."""
        alert = self.alert
        summary = {
            "change_id": self.change_id,
            "kind": self.kind,
            "by": self.by,
            "at": self.at.isoformat(),
            "alert_id": alert.id,
            "household_id": alert.household_id,
            "region_code": alert.region_code,
            "inbox": alert.inbox,
            "level": alert.level,
            "status": alert.status,
            "queue": alert.queue,
            "overdue": alert.overdue,
            "due_at": alert.due_at.isoformat(),
            "version": alert.version,
            "risk_types": alert.risk_types,  # a v1 addition: the case's risk types, main first
        }
        return json.dumps(summary, ensure_ascii=False)
