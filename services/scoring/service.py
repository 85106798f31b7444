"""One step of scoring: apply an event, reassess with rules and model, decide whether a new score is due."""

from __future__ import annotations

import hashlib
from datetime import datetime

from services.common.events import HouseholdEvent
from services.common.policy import Policy, PolicyBook
from services.common.scores import Level, Reason, Score, ShadowScore
from services.scoring.features import FEATURE_WORDS, household_features
from services.scoring.model import RiskModel
from services.scoring.reasons import model_risk
from services.scoring.rules import RANK, Assessment, assess
from services.scoring.state import HouseholdState, apply_event


def _with_model(
    assessment: Assessment, state: HouseholdState, policy: Policy, model: RiskModel | None
) -> tuple[Assessment, float | None]:
    features = household_features(state, policy) if model else None
    if model is None or features is None:
        return assessment, None
    probability, drivers = model.assess(features)
    reason = model_risk(probability, drivers, policy.values, FEATURE_WORDS)
    if reason is None:
        return assessment, probability
    reasons: list[Reason] = [*assessment.reasons, reason]
    level: Level = max(assessment.level, reason.level, key=RANK.__getitem__)
    return Assessment(level, reasons, assessment.figures, assessment.proposed_category), probability


def policy_of(state: HouseholdState, event: HouseholdEvent, policies: PolicyBook) -> Policy:
    """The policy of the household's region for the year of the latest month it has news about."""
    if state.profile is None:
        raise ValueError("a household without a registration has no region, hence no policy")
    month = state.reference_month() or event.time.strftime("%Y-%m")
    return policies.for_region(state.profile.region_code, int(month[:4]))


def score_event(
    state: HouseholdState,
    event: HouseholdEvent,
    policies: PolicyBook,
    now: datetime,
    model: RiskModel | None = None,
) -> tuple[HouseholdState, Score | None]:
    """Return the new state and a score when the assessment changed (None for duplicates and no-ops)."""
    new = apply_event(state, event)
    if new is state or new.profile is None:
        return new, None
    policy = policy_of(new, event, policies)
    rules = assess(new, policy)
    if rules is None:
        return new, None
    assessment, probability = _with_model(rules, new, policy, model)
    version = model.manifest.version if model else None
    fingerprint = f"{assessment.fingerprint()}|{version}"
    if fingerprint == new.last_fingerprint:
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
        probability=probability,
        policy_version=policy.version,
        model_version=version,
        scoring_mode="rules_and_model" if model else "rules_only",
        caused_by=causes,
        event_time=event.time,
        scored_at=now,
    )
    new.last_fingerprint = fingerprint
    new.unscored_events = []
    return new, score


def shadow_score(
    state: HouseholdState, event: HouseholdEvent, score: Score, policies: PolicyBook, candidate: RiskModel
) -> ShadowScore | None:
    """The candidate's assessment of the state the active `score` was made from; None when rules cannot assess."""
    policy = policy_of(state, event, policies)
    rules = assess(state, policy)
    if rules is None:
        return None
    assessment, probability = _with_model(rules, state, policy, candidate)
    return ShadowScore(
        household_id=score.household_id,
        region_code=score.region_code,
        score_id=score.score_id,
        scored_at=score.scored_at,
        active_version=score.model_version,
        active_level=score.level,
        active_probability=score.probability,
        candidate_version=candidate.manifest.version,
        candidate_level=assessment.level,
        candidate_probability=probability,
    )
