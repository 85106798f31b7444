"""How a new score changes a household's alert: open one, join evidence to it, or leave it alone."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.alerts.models import Alert, HistoryEntry
from services.common.policy import PolicyBook
from services.common.scores import Level, Reason, Score

_RANK: dict[Level, int] = {"green": 0, "yellow": 1, "red": 2}
_ALERT_NAMESPACE = uuid.UUID("3f1c1a56-3d0e-4c51-9a51-5e0f2a9b7c11")


def _merged(old: list[Reason], new: list[Reason]) -> list[Reason]:
    by_code = {reason.code: reason for reason in old}
    by_code.update({reason.code: reason for reason in new})
    return list(by_code.values())


def apply_score(current: Alert | None, score: Score, policies: PolicyBook, now: datetime) -> Alert | None:
    """Return the alert as it should now be stored, or None when the score changes nothing."""
    if current is not None and score.score_id in current.score_ids:
        return None  # redelivered score
    if current is None or not current.is_open:
        if score.level == "green":
            return None
        policy = policies.for_region(score.region_code, now.year)
        return Alert(
            id=str(uuid.uuid5(_ALERT_NAMESPACE, f"{score.household_id}/{score.score_id}")),
            household_id=score.household_id,
            region_code=score.region_code,
            level=score.level,
            reasons=score.reasons,
            created_at=now,
            updated_at=now,
            due_at=now + policy.values.identification_within,
            policy_version=score.policy_version,
            score_ids=[score.score_id],
            history=[HistoryEntry(at=now, by="system", change="raised", level=score.level, score_id=score.score_id)],
        )
    if score.level == "green":
        return None  # the case stays with the worker; only the household figures move
    level = score.level if _RANK[score.level] > _RANK[current.level] else current.level
    change = "escalated" if level != current.level else "evidence_added"
    return current.model_copy(
        update={
            "level": level,
            "reasons": _merged(current.reasons, score.reasons),
            "updated_at": now,
            "version": current.version + 1,
            "score_ids": [*current.score_ids[-49:], score.score_id],
            "history": [
                *current.history,
                HistoryEntry(at=now, by="system", change=change, level=level, score_id=score.score_id),
            ],
        }
    )
