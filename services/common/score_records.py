"""The score record's fast codec: msgspec structs of the models in `scores.py`, field for field (names, order, types,
defaults; checked by tests/unit/test_contract_fields.py). Scoring builds and encodes them; alerts decode them."""

from __future__ import annotations

from datetime import datetime

import msgspec

from services.common.levels import Level
from services.common.risk_types import RiskType
from services.common.scores import Category, ScoringMode


class ReasonRecord(msgspec.Struct, frozen=True):
    """One reason (common.scores.Reason on the wire)."""

    code: str
    level: Level
    message_zh: str
    message_en: str
    evidence: dict[str, float | int | str]


class FiguresRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The household's current figures (common.scores.Figures on the wire)."""

    members: int
    labourers: int | None = None
    income_12m: float
    per_capita_income: float
    months_reported: int
    monitoring_line: float
    medical_out_of_pocket_12m: float = 0.0
    per_capita_after_rigid_spending: float | None = None
    schooling_out_of_pocket_12m: float = 0.0


class MonitoringRecord(msgspec.Struct, frozen=True):
    """common.scores.Monitoring on the wire."""

    month: str
    bins: list[int]
    score_bin: int


class RiskTypeRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A risk type the evidence proposes (common.scores.RiskTypeProposal on the wire)."""

    risk_type: RiskType
    reason: str
    evidence: str
    level: Level
    message_zh: str
    message_en: str
    amount: float = 0.0
    fallback: bool = False


class ScoreRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One assessment of one household (common.scores.Score on the wire, topic `scores`)."""

    score_id: str
    household_id: str
    region_code: str
    level: Level
    reasons: list[ReasonRecord]
    figures: FiguresRecord
    proposed_category: Category | None = None
    probability: float | None = None
    policy_version: str
    model_version: str | None
    scoring_mode: ScoringMode
    caused_by: list[str]
    event_time: datetime
    scored_at: datetime
    monitoring: MonitoringRecord | None = None
    risk_type_proposals: list[RiskTypeRecord] = []


class ShadowRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A shadow candidate's assessment next to the active one's (common.scores.ShadowScore, `scores.shadow`)."""

    household_id: str
    region_code: str
    score_id: str
    scored_at: datetime
    active_version: str | None
    active_level: Level
    active_probability: float | None
    candidate_version: str
    candidate_level: Level
    candidate_probability: float | None


_ENCODER = msgspec.json.Encoder()


def encoded(record: ScoreRecord | ShadowRecord) -> bytes:
    """The record's JSON."""
    return _ENCODER.encode(record)
