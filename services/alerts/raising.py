"""How a new score changes a household's alert: open one, join evidence to it, reopen a closed case, or not."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.alerts.causes import joined
from services.common.alerts import Alert, Deadline, HistoryEntry
from services.common.levels import LEVEL_RANK, highest_level
from services.common.policy import PolicyBook, PolicyValues
from services.common.risk_types import risk_types_of
from services.common.scores import Reason, Score

_ALERT_NAMESPACE = uuid.UUID("3f1c1a56-3d0e-4c51-9a51-5e0f2a9b7c11")


def _merged(old: list[Reason], new: list[Reason]) -> list[Reason]:
    by_code = {reason.code: reason for reason in old}
    by_code.update({reason.code: reason for reason in new})
    return list(by_code.values())


def suppressed(previous: Alert, score: Score, policy: PolicyValues, now: datetime) -> bool:
    """True while a dismissal's quiet period holds: same or lower level and no reason code the dismissal lacked."""
    if previous.status != "dismissed" or previous.dismissed_at is None:
        return False
    if now >= previous.dismissed_at + policy.dismissal_quiet_period:
        return False
    new_codes = {reason.code for reason in score.reasons} - {reason.code for reason in previous.reasons}
    return LEVEL_RANK[score.level] <= LEVEL_RANK[previous.level] and not new_codes


def _deadlines(now: datetime, policy: PolicyValues) -> list[Deadline]:
    due = {"home_visit": now + policy.home_visit_within, "decision": now + policy.identification_within}
    return [
        Deadline(name=name, due_at=due_at, remind_at=due_at - policy.reminder_before)  # type: ignore[arg-type]
        for name, due_at in due.items()
    ]


def _raised(previous: Alert | None, score: Score, policy: PolicyValues, version: str, now: datetime) -> Alert:
    entry = HistoryEntry(at=now, by="system", change="raised", level=score.level, score_id=score.score_id)
    history = [entry]
    if previous is not None:  # 风险消除回退 or a new warning after a dismissal: the case carries its past
        reopened = entry.model_copy(update={"change": "reopened", "note": f"follows alert {previous.id}"})
        history = [*previous.history, reopened]
    deadlines = _deadlines(now, policy)
    return Alert(
        id=str(uuid.uuid5(_ALERT_NAMESPACE, f"{score.household_id}/{score.score_id}")),
        household_id=score.household_id,
        region_code=score.region_code,
        inbox=score.region_code[:9],
        level=score.level,
        reasons=score.reasons,
        created_at=now,
        updated_at=now,
        due_at=deadlines[-1].due_at,
        deadlines=deadlines,
        policy_version=version,
        score_ids=[score.score_id],
        history=history,
        reopened_from=previous.id if previous is not None else None,
        probability=score.probability,
        model_version=score.model_version,
        risk_types=risk_types_of(score.risk_type_proposals),
        risk_type_proposals=score.risk_type_proposals,
    )


def apply_score(current: Alert | None, score: Score, policies: PolicyBook, now: datetime) -> Alert | None:
    """Return the alert as it should now be stored, or None when the score changes nothing."""
    if current is not None and score.score_id in current.score_ids:
        return None  # redelivered score
    if score.level == "green":
        return None  # an open case stays with the worker; only the household figures move
    if current is None or not current.is_open:
        policy = policies.for_region(score.region_code, now.year)
        if current is not None and suppressed(current, score, policy.values, now):
            return None
        return _raised(current, score, policy.values, score.policy_version, now)
    level = highest_level((current.level, score.level))
    change = "escalated" if level != current.level else "evidence_added"
    return current.model_copy(
        update={
            "level": level,
            "reasons": _merged(current.reasons, score.reasons),
            "updated_at": now,
            "version": current.version + 1,
            "score_ids": [*current.score_ids[-49:], score.score_id],
            "probability": score.probability,
            "model_version": score.model_version,
            **joined(current, score),
            "history": [
                *current.history,
                HistoryEntry(at=now, by="system", change=change, level=level, score_id=score.score_id),
            ],
        }
    )
