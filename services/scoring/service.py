"""One step of scoring: apply an event, reassess, and decide whether a new score is due."""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.common.events import HouseholdEvent
from services.common.policy import PolicyBook
from services.common.scores import Score
from services.scoring.rules import assess
from services.scoring.state import HouseholdState, apply_event


def score_event(
    state: HouseholdState, event: HouseholdEvent, policies: PolicyBook, now: datetime
) -> tuple[HouseholdState, Score | None]:
    """Return the new state and a score when the assessment changed (None for duplicates and no-ops)."""
    new = apply_event(state, event)
    if new is state or new.profile is None:
        return new, None
    month = new.reference_month() or event.time.strftime("%Y-%m")
    policy = policies.for_region(new.profile.region_code, int(month[:4]))
    assessment = assess(new, policy)
    if assessment is None or assessment.fingerprint() == new.last_fingerprint:
        return new, None
    causes = list(new.unscored_events)
    score = Score(
        score_id=hashlib.sha256("\n".join([event.household_id, *causes]).encode()).hexdigest()[:32],
        household_id=event.household_id,
        region_code=new.profile.region_code,
        level=assessment.level,
        reasons=assessment.reasons,
        figures=assessment.figures,
        proposed_category=assessment.proposed_category,
        policy_version=policy.version,
        model_version=None,
        scoring_mode="rules_only",
        caused_by=causes,
        event_time=event.time,
        scored_at=now,
    )
    new.last_fingerprint = assessment.fingerprint()
    new.unscored_events = []
    return new, score
