"""The score record: scoring's assessment of a household, consumed by alerts (topic `scores`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.levels import Level
from services.common.risk_types import RiskType

Category = Literal["unstable_exited", "marginal", "sudden_hardship"]  # 脱贫不稳定户, 边缘易致贫户, 突发严重困难户
ScoringMode = Literal["rules_only", "rules_and_model"]


class Reason(BaseModel):
    """Why a household is at risk: a stable code, words for a township worker, and the figures."""

    model_config = ConfigDict(frozen=True)

    code: str
    level: Level
    message_zh: str
    message_en: str
    evidence: dict[str, float | int | str]


class Figures(BaseModel):
    """The household's current figures behind the score."""

    model_config = ConfigDict(frozen=True)

    members: int
    labourers: int | None = None
    income_12m: float
    per_capita_income: float
    months_reported: int
    monitoring_line: float
    medical_out_of_pocket_12m: float = 0.0
    per_capita_after_rigid_spending: float | None = None
    schooling_out_of_pocket_12m: float = 0.0  # schooling costs paid in the window (education.expense.incurred)


class Monitoring(BaseModel):
    """The bins of a household's model inputs and score in its first model score of a month (drift monitoring):
    `bins[i]` is the bin of the model's feature i, against the reference saved with the model."""

    model_config = ConfigDict(frozen=True)

    month: str  # YYYY-MM of the score's event time (China time)
    bins: list[int]
    score_bin: int


class RiskTypeProposal(BaseModel):
    """A risk type (风险类型) the evidence proposes for a case: which reason's evidence, under which policy rule
    (`risk_type_rules`, or `driver:<feature>` for a model attribution), at that reason's level, in words."""

    model_config = ConfigDict(frozen=True)

    risk_type: RiskType
    reason: str
    evidence: str
    level: Level
    message_zh: str
    message_en: str
    amount: float = Field(default=0.0, description="yuan the evidence weighs: orders the types of one level")
    fallback: bool = Field(default=False, description="no evidence was specific: stands only alone")


class Score(BaseModel):
    """One assessment of one household."""

    model_config = ConfigDict(frozen=True)

    score_id: str
    household_id: str
    region_code: str
    level: Level
    reasons: list[Reason]
    figures: Figures
    proposed_category: Category | None = None
    probability: float | None = None  # the model's probability of falling below the line within 12 months
    policy_version: str
    model_version: str | None
    scoring_mode: ScoringMode
    caused_by: list[str]
    event_time: datetime
    scored_at: datetime
    monitoring: Monitoring | None = None  # the first model score of the household's month carries it
    risk_type_proposals: list[RiskTypeProposal] = Field(default_factory=list)  # main first

    def to_json(self) -> bytes:
        """Serialise for the scores topic."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Score:
        """Parse a scores-topic message."""
        return cls.model_validate_json(raw)


class ShadowScore(BaseModel):
    """A shadow candidate's assessment of a household next to the active one's (for `scores.shadow` only)."""

    household_id: str
    region_code: str
    score_id: str  # the active score this one shadows
    scored_at: datetime
    active_version: str | None
    active_level: Level
    active_probability: float | None
    candidate_version: str
    candidate_level: Level
    candidate_probability: float | None
