"""The score record: scoring's assessment of a household, consumed by alerts (topic `scores`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Level = Literal["red", "yellow", "green"]


class Reason(BaseModel):
    """Why a household is at risk: a stable code, words for a township worker, and the figures."""

    model_config = ConfigDict(frozen=True)

    code: str
    message_zh: str
    message_en: str
    evidence: dict[str, float | int | str]


class Figures(BaseModel):
    """The household's current figures behind the score."""

    model_config = ConfigDict(frozen=True)

    members: int
    income_12m: float
    per_capita_income: float
    months_reported: int
    monitoring_line: float


class Score(BaseModel):
    """One assessment of one household."""

    model_config = ConfigDict(frozen=True)

    score_id: str
    household_id: str
    region_code: str
    level: Level
    reasons: list[Reason]
    figures: Figures
    policy_version: str
    model_version: str | None
    scoring_mode: Literal["rules_only", "rules_and_model"]
    caused_by: list[str]
    event_time: datetime
    scored_at: datetime

    def to_json(self) -> bytes:
        """Serialise for the scores topic."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Score:
        """Parse a scores-topic message."""
        return cls.model_validate_json(raw)
