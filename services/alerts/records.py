"""A fast reading of the score record (services/common/scores.py, unchanged): what the alerts service needs of
every score, decoded with msgspec in a few microseconds instead of a full pydantic model.

Most scores of a push are green and only move the household's figures; only a red or yellow one is read into the
full `Score` (`ScoreRecord.score`), since only those change alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from services.common.scores import Score

_decoder: msgspec.json.Decoder[ScoreRecord]


class FiguresRecord(msgspec.Struct):
    """`Figures`, field for field (same order, same defaults)."""

    members: int
    income_12m: float
    per_capita_income: float
    months_reported: int
    monitoring_line: float
    labourers: int | None = None
    medical_out_of_pocket_12m: float = 0.0
    per_capita_after_rigid_spending: float | None = None
    schooling_out_of_pocket_12m: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as `Figures.model_dump()` lists them."""
        return {
            "members": self.members,
            "labourers": self.labourers,
            "income_12m": self.income_12m,
            "per_capita_income": self.per_capita_income,
            "months_reported": self.months_reported,
            "monitoring_line": self.monitoring_line,
            "medical_out_of_pocket_12m": self.medical_out_of_pocket_12m,
            "per_capita_after_rigid_spending": self.per_capita_after_rigid_spending,
            "schooling_out_of_pocket_12m": self.schooling_out_of_pocket_12m,
        }


class ReasonRecord(msgspec.Struct):
    """`Reason`, field for field."""

    code: str
    level: Literal["red", "yellow", "green"]
    message_zh: str
    message_en: str
    evidence: dict[str, Any]


class MonitoringRecord(msgspec.Struct):
    """`Monitoring`: a household's first model score of a month carries its drift bins."""

    month: str
    bins: list[int]
    score_bin: int


class ScoreRecord(msgspec.Struct):
    """The fields of a score record the alerts service reads for every score; `raw` keeps the message."""

    score_id: str
    household_id: str
    region_code: str
    level: Literal["red", "yellow", "green"]
    reasons: list[ReasonRecord]
    figures: FiguresRecord
    policy_version: str
    model_version: str | None
    scoring_mode: str
    caused_by: list[str]
    event_time: datetime
    scored_at: datetime
    monitoring: MonitoringRecord | None = None
    raw: bytes = b""

    @classmethod
    def decode(cls, raw: bytes) -> ScoreRecord:
        """Read a scores-topic message; raises msgspec.ValidationError or DecodeError if it is not a score."""
        record = _decoder.decode(raw)
        record.raw = raw
        return record

    def score(self) -> Score:
        """The full, validated score (for the red and yellow ones, which change alerts)."""
        return Score.from_json(self.raw)

    def snapshot(self) -> dict[str, Any]:
        """The household's current figures as the API shows them."""
        return {
            "household_id": self.household_id,
            "region_code": self.region_code,
            "level": self.level,
            "reasons": [msgspec.structs.asdict(reason) for reason in self.reasons],
            "figures": self.figures.as_dict(),
            "policy_version": self.policy_version,
            "model_version": self.model_version,
            "scoring_mode": self.scoring_mode,
            "scored_at": self.scored_at.isoformat(),
            "last_score_id": self.score_id,
        }

    def timeline_entry(self) -> dict[str, Any]:
        """The score's line in the household's timeline."""
        return {
            "kind": "score",
            "at": self.scored_at.isoformat(),
            "event_time": self.event_time.isoformat(),
            "score_id": self.score_id,
            "level": self.level,
            "caused_by": self.caused_by,
            "reasons": [reason.code for reason in self.reasons],
            "per_capita_income": self.figures.per_capita_income,
            "monitoring_line": self.figures.monitoring_line,
        }


_decoder = msgspec.json.Decoder(ScoreRecord)
DecodeErrors = (msgspec.ValidationError, msgspec.DecodeError)
