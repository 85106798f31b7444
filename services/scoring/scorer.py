"""Scoring a set of changed households at once: rules, one vectorised model call, and the scores that are due."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import msgspec
import numpy as np

from services.common.events import HouseholdEvent
from services.common.levels import decide_level, model_level
from services.common.policy import Policy, PolicyBook
from services.common.score_records import MonitoringRecord, ScoreRecord, ShadowRecord
from services.scoring import monitoring
from services.scoring.causes import with_model_causes
from services.scoring.facts import Fact, fact_of
from services.scoring.features import FEATURE_WORDS, feature_values, named, values_matrix
from services.scoring.metrics import ASSESSED, MODEL_SECONDS
from services.scoring.model import RiskModel
from services.scoring.reasons import model_risk
from services.scoring.rules import Assessment, assess, standing
from services.scoring.state import HouseholdState, apply_event


@dataclass
class Changed:
    """A household whose state changed: its new state and the latest event that changed it."""

    household_id: str
    state: HouseholdState
    latest: Fact


@dataclass
class Outcome:
    """What scoring a changed household gives: the state to store, and a score (and shadow score) when due."""

    household_id: str
    state: HouseholdState
    score: ScoreRecord | None = None
    shadow: ShadowRecord | None = None


def policy_of(state: HouseholdState, event: HouseholdEvent | Fact, policies: PolicyBook) -> Policy:
    """The policy of the household's region for the year of the latest month it has news about."""
    if state.profile is None:
        raise ValueError("a household without a registration has no region, hence no policy")
    month = state.latest_month or event.time.strftime("%Y-%m")
    return policies.for_region(state.profile.region_code, int(month[:4]))


@dataclass
class _Assessed:
    change: Changed
    policy: Policy
    rules: Assessment
    features: tuple[float, ...] | None  # in `FEATURES` order


def _with_model_risk(
    assessed: list[_Assessed], model: RiskModel, rows: list[int], matrix: np.ndarray
) -> tuple[list[Assessment], np.ndarray]:
    """Each assessment with the model's reason added where the model's level is not green, and the household's level
    decided from both (where the model says green, the rules' level stands)."""
    started = time.perf_counter()
    probabilities = model.probabilities(matrix)
    out = [a.rules for a in assessed]
    policies = [assessed[i].policy.values for i in rows]
    distinct = {id(values): values for values in policies}  # the batch's policies, each once
    cut_of = {key: model.yellow_cut(values) for key, values in distinct.items()}
    cuts = [cut_of[id(values)] for values in policies]
    each = probabilities.tolist()  # as floats, read once a household
    horizon = model.manifest.horizon_months  # what the model predicts: falling below within this many months
    alarming = [k for k, i in enumerate(rows) if model_level(each[k], assessed[i].policy.values, cuts[k]) != "green"]
    drivers = model.drivers(matrix[alarming], probabilities[alarming]) if alarming else []
    MODEL_SECONDS.labels("active").inc(time.perf_counter() - started)
    for k, found in zip(alarming, drivers, strict=True):
        item, probability = assessed[rows[k]], each[k]
        values, rules = item.policy.values, item.rules
        reason = model_risk(probability, found, values, FEATURE_WORDS, cuts[k], horizon)
        if reason is not None:
            level = decide_level(rules.level, probability, values, cuts[k])
            assert item.features is not None  # a row of the matrix: it has features
            causes = with_model_causes(rules.risk_types, reason, values, FEATURE_WORDS, named(item.features))
            out[rows[k]] = Assessment(level, [*rules.reasons, reason], rules.figures, rules.proposed_category, causes)
    return out, probabilities


def _matrix(assessed: list[_Assessed], names: list[str]) -> tuple[list[int], np.ndarray]:
    rows = [i for i, a in enumerate(assessed) if a.features is not None]
    return rows, values_matrix([features for a in assessed if (features := a.features) is not None], names)


def _score(
    item: _Assessed, assessment: Assessment, probability: float | None, version: str | None, now: datetime,
    drift: MonitoringRecord | None = None,
) -> ScoreRecord:  # fmt: skip
    state, latest = item.change.state, item.change.latest
    causes = list(state.unscored_events)
    hid = item.change.household_id
    assert state.profile is not None
    return ScoreRecord(
        score_id=hashlib.sha256("\n".join([hid, *causes]).encode()).hexdigest()[:32],
        household_id=hid,
        region_code=state.profile.region_code,
        level=assessment.level,
        reasons=assessment.reasons,
        figures=assessment.figures,
        proposed_category=assessment.proposed_category,
        probability=probability,
        policy_version=item.policy.version,
        model_version=version,
        scoring_mode="rules_and_model" if version else "rules_only",
        caused_by=causes,
        event_time=latest.time,
        scored_at=now,
        monitoring=drift,
        risk_type_proposals=assessment.risk_types,
    )


def _shadows(emitted: list[tuple[_Assessed, ScoreRecord]], candidate: RiskModel) -> list[ShadowRecord]:
    """The candidate's level and probability for each household the active model just scored."""
    usable = [(a, s) for a, s in emitted if a.features is not None]
    matrix = values_matrix([f for a, _ in usable if (f := a.features) is not None], candidate.manifest.features)
    started = time.perf_counter()
    probabilities = candidate.probabilities(matrix)
    MODEL_SECONDS.labels("shadow").inc(time.perf_counter() - started)
    out = []
    for (item, score), p in zip(usable, probabilities, strict=True):
        values = item.policy.values
        level = decide_level(item.rules.level, float(p), values, candidate.yellow_cut(values))
        out.append(
            ShadowRecord(
                household_id=score.household_id,
                region_code=score.region_code,
                score_id=score.score_id,
                scored_at=score.scored_at,
                active_version=score.model_version,
                active_level=score.level,
                active_probability=score.probability,
                candidate_version=candidate.manifest.version,
                candidate_level=level,
                candidate_probability=float(p),
            )
        )
    return out


def score_changed(
    changed: Sequence[Changed],
    policies: PolicyBook,
    now: datetime,
    model: RiskModel | None = None,
    shadow: RiskModel | None = None,
) -> list[Outcome]:
    """Assess every changed household (one model call for all of them) and say which scores are due."""
    outcomes = [Outcome(c.household_id, c.state) for c in changed]
    assessed: list[_Assessed] = []
    positions: list[int] = []
    for position, change in enumerate(changed):
        if change.state.profile is None:
            continue
        policy = policy_of(change.state, change.latest, policies)
        found = standing(change.state, policy)
        rules = assess(change.state, policy, found)
        if rules is None:
            continue
        features = feature_values(change.state, policy, found) if model or shadow else None
        assessed.append(_Assessed(change, policy, rules, features))
        positions.append(position)
    ASSESSED.inc(len(assessed))
    final, probability_of, bins_of = [a.rules for a in assessed], {}, {}
    if model is not None and assessed:
        rows, matrix = _matrix(assessed, model.manifest.features)
        final, probabilities = _with_model_risk(assessed, model, rows, matrix)
        probability_of = dict(zip(rows, probabilities.tolist(), strict=True))
        bins_of = monitoring.bins(model, rows, matrix, probabilities)
    version = model.manifest.version if model else None
    emitted: list[tuple[_Assessed, ScoreRecord]] = []
    for i, (item, assessment) in enumerate(zip(assessed, final, strict=True)):
        fingerprint = f"{assessment.fingerprint()}|{version}"
        state = item.change.state
        if fingerprint == state.last_fingerprint:
            continue
        drift, tag = (
            monitoring.monthly(state, version, item.change.latest.time, bins_of.get(i)) if version else (None, "")
        )
        score = _score(item, assessment, probability_of.get(i), version, now, drift)
        emitted.append((item, score))
        scored_state = msgspec.structs.replace(
            state, last_fingerprint=fingerprint, unscored_events=[], monitored=tag or state.monitored
        )
        outcomes[positions[i]] = replace(outcomes[positions[i]], state=scored_state, score=score)
    if shadow is not None and emitted:
        by_household = {s.household_id: s for s in _shadows(emitted, shadow)}
        for outcome in outcomes:
            outcome.shadow = by_household.get(outcome.household_id) if outcome.score else None
    return outcomes


def score_event(
    state: HouseholdState,
    event: HouseholdEvent | Fact,
    policies: PolicyBook,
    now: datetime,
    model: RiskModel | None = None,
) -> tuple[HouseholdState, ScoreRecord | None]:
    """Return the new state and a score when the assessment changed (None for duplicates and no-ops)."""
    fact = fact_of(event)
    new = apply_event(state, fact)
    if new is state or new.profile is None or fact.household_id is None:
        return new, None
    outcome = score_changed([Changed(fact.household_id, new, fact)], policies, now, model)[0]
    return outcome.state, outcome.score
