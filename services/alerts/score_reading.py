"""A fast reading of the score record (the contract's codec, services/common/score_records.py): every score decoded
with msgspec in a few microseconds instead of a full pydantic model, and what alerts keep of it.

Most scores of a push are green and only move the household's figures; only a red or yellow one is read into the
full `Score` (`Score.from_json`), since only those change alerts.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.common.score_records import ScoreRecord

_decoder = msgspec.json.Decoder(ScoreRecord)
DecodeErrors = (msgspec.ValidationError, msgspec.DecodeError)


def read_score(raw: bytes) -> ScoreRecord:
    """Read a scores-topic message; raises msgspec.ValidationError or DecodeError if it is not a score."""
    return _decoder.decode(raw)


def snapshot(score: ScoreRecord) -> dict[str, Any]:
    """The household's current figures as the API shows them."""
    return {
        "household_id": score.household_id,
        "region_code": score.region_code,
        "level": score.level,
        "reasons": [msgspec.structs.asdict(reason) for reason in score.reasons],
        "figures": msgspec.structs.asdict(score.figures),
        "policy_version": score.policy_version,
        "model_version": score.model_version,
        "scoring_mode": score.scoring_mode,
        "scored_at": score.scored_at.isoformat(),
        "last_score_id": score.score_id,
    }


def timeline_entry(score: ScoreRecord) -> dict[str, Any]:
    """The score's line in the household's timeline."""
    return {
        "kind": "score",
        "at": score.scored_at.isoformat(),
        "event_time": score.event_time.isoformat(),
        "score_id": score.score_id,
        "level": score.level,
        "caused_by": score.caused_by,
        "reasons": [reason.code for reason in score.reasons],
        "per_capita_income": score.figures.per_capita_income,
        "monitoring_line": score.figures.monitoring_line,
    }
