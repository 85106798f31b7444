"""The alert: one case per household, as stored in Redis and returned by the API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.common.scores import Level, Reason

Status = Literal["open", "verifying", "reviewing", "confirmed", "dismissed", "assisting", "resolved"]
CLOSED_STATUSES: frozenset[str] = frozenset({"dismissed", "resolved"})


class HistoryEntry(BaseModel):
    """One change of an alert: who (a person or `system`), when, what."""

    at: datetime
    by: str
    change: str
    level: Level | None = None
    score_id: str | None = None


class Alert(BaseModel):
    """A household's case from warning to decision."""

    id: str
    household_id: str
    region_code: str
    level: Level
    status: Status = "open"
    reasons: list[Reason]
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    policy_version: str
    version: int = 1
    score_ids: list[str] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Still in the workflow (neither dismissed nor resolved)."""
        return self.status not in CLOSED_STATUSES
