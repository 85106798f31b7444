"""A case's risk types (风险类型): proposed by the evidence of the scores it joins, confirmed or corrected by a person
(the township worker at the home visit, the county at confirmation), and answered by matching measures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from services.common.alerts import Alert, HistoryEntry, RiskTypeReview
from services.common.policy import PolicyValues
from services.common.risk_types import RiskType, label, risk_types_of
from services.common.scores import Score


def joined(current: Alert, score: Score) -> dict[str, Any]:
    """The proposals and risk types once `score` joins the open case: its proposals replace those of the reasons it
    carries again; a person's list stands, with types proposed since that it had not seen added after it."""
    codes = {reason.code for reason in score.reasons}
    kept = [p for p in current.risk_type_proposals if p.reason not in codes]
    proposals = [*kept, *score.risk_type_proposals]
    proposed = risk_types_of(proposals)
    review = current.risk_types_review
    if review is None:
        return {"risk_type_proposals": proposals, "risk_types": proposed}
    added = [t for t in proposed if t not in review.proposed and t not in current.risk_types]
    return {"risk_type_proposals": proposals, "risk_types": [*current.risk_types, *added]}


def reviewed(
    alert: Alert,
    chosen: Sequence[RiskType] | None,
    actor: str,
    now: datetime,
    step: Literal["home_visit", "confirmation"],
) -> tuple[dict[str, Any], list[HistoryEntry]]:
    """The alert's update and history entry when a person confirms (`chosen` as it stands, or None: the list as it
    stands) or corrects its risk types; nothing when there are none to review."""
    types = list(chosen) if chosen is not None else list(alert.risk_types)
    if not types:
        return {}, []
    corrected = types != alert.risk_types
    review = RiskTypeReview(
        by=actor, at=now, step=step, proposed=risk_types_of(alert.risk_type_proposals), corrected=corrected
    )
    entry = HistoryEntry(
        at=now,
        by=actor,
        change="risk_types_corrected" if corrected else "risk_types_confirmed",
        risk_types=types,
        risk_types_before=list(alert.risk_types) if corrected else None,
    )
    return {"risk_types": types, "risk_types_review": review}, [entry]


def unanswered(alert: Alert, values: PolicyValues) -> list[str]:
    """Each risk type of the case that no recorded measure answers (the policy's `risk_type_measures`), in words."""
    done = {measure.type for measure in alert.measures}
    missing = []
    for risk_type in alert.risk_types:
        answers = values.risk_type_measures[risk_type]
        if not done.intersection(answers):
            missing.append(
                f"no measure answers the risk type {risk_type} ({label(risk_type, 'zh')}): record one of "
                f"{', '.join(answers)}"
            )
    return missing
