"""Point-in-time rows: the scoring service's own state and features at each cut-off, and the label after it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from services.analytics.labels import Labels
from services.common.china_time import CHINA
from services.common.events import HouseholdEvent
from services.common.levels import LEVEL_RANK
from services.common.months import add_months, month_shift
from services.common.policy import PolicyBook
from services.scoring.facts import Fact, fact_of
from services.scoring.features import FEATURES, household_features
from services.scoring.rules import assess
from services.scoring.state import HouseholdState, apply_event

HORIZON = 12  # months after the cut-off in which falling below the line is the positive label


def cutoff_instant(day: date) -> datetime:
    """The last instant of `day` (China time): events up to it count at that cut-off."""
    return datetime.combine(day + timedelta(days=1), time(), CHINA) - timedelta(microseconds=1)


def month_end(month: str) -> datetime:
    """The cut-off at the end of `month` (China time): the last instant whose events count."""
    return datetime.fromisoformat(f"{month_shift(month, 1)}-01T00:00:00+08:00") - timedelta(microseconds=1)


@dataclass
class Snapshot:
    """A household at one cut-off: features, the rules-only level, and the policy in force."""

    features: dict[str, float]
    rules_level: int  # 0 green, 1 yellow, 2 red
    policy_version: str
    state: HouseholdState
    alert_rule: tuple[float, float]  # the policy's model_yellow_budget (nan: none) and model_yellow_probability


def replay(
    events: Sequence[HouseholdEvent | Fact], cutoffs: Sequence[date], policies: PolicyBook
) -> dict[date, Snapshot]:
    """Snapshots at the end of each cut-off day, using only events whose event time is ≤ that cut-off."""
    state = HouseholdState()
    ordered = sorted(map(fact_of, events), key=lambda e: (e.time, e.key))
    snapshots, position = {}, 0
    for day in sorted(cutoffs):
        limit = cutoff_instant(day)
        while position < len(ordered) and ordered[position].time <= limit:
            state = apply_event(state, ordered[position])
            position += 1
        snapshot = snapshot_of(state, policies)
        if snapshot is not None:
            snapshots[day] = snapshot
    return snapshots


def snapshot_of(state: HouseholdState, policies: PolicyBook) -> Snapshot | None:
    """Features and rules level as the scoring service computes them for this state."""
    if state.profile is None:
        return None
    month = state.reference_month() or ""
    policy = policies.for_region(state.profile.region_code, int(month[:4]))
    features, assessment = household_features(state, policy), assess(state, policy)
    if features is None or assessment is None:
        return None
    values = policy.values
    budget = float(values.model_yellow_budget) if values.model_yellow_budget is not None else float("nan")
    return Snapshot(
        features, LEVEL_RANK[assessment.level], policy.version, state, (budget, float(values.model_yellow_probability))
    )


@dataclass
class TrainingSet:
    """Rows (household × cut-off) of features, labels and what evaluation needs alongside."""

    X: np.ndarray  # every scoring feature, in FEATURES order
    y: np.ndarray
    cutoff: np.ndarray  # index into `cutoffs`
    county: np.ndarray  # 6-digit county code
    household: np.ndarray  # household ids
    rules_level: np.ndarray
    fall_in: np.ndarray  # months from the cut-off to the first positive outcome (0: none in the horizon)
    alert_rule: np.ndarray  # per row, the policy's model_yellow_budget (nan: none) and model_yellow_probability
    cutoffs: list[date]
    policy_versions: set[str] = field(default_factory=set)
    stratum: np.ndarray | None = None  # validation rows: the split that predicted each (scores compare within one)
    risk_type: np.ndarray | None = None  # per row, the risk type its positive label names ('' when none)

    def __len__(self) -> int:
        return len(self.y)

    def strata(self) -> np.ndarray:
        """Each row's stratum (all 0 when the rows were scored by one model)."""
        return np.zeros(len(self), int) if self.stratum is None else self.stratum

    def subset(self, mask: np.ndarray) -> TrainingSet:
        """Rows where `mask` holds (a boolean mask or row indices)."""
        parts = (self.X, self.y, self.cutoff, self.county, self.household, self.rules_level, self.fall_in,
                 self.alert_rule)  # fmt: skip
        stratum = None if self.stratum is None else self.stratum[mask]
        risk_type = None if self.risk_type is None else self.risk_type[mask]
        return TrainingSet(*(part[mask] for part in parts), self.cutoffs, self.policy_versions, stratum, risk_type)  # type: ignore[arg-type, call-arg]

    def causes(self) -> np.ndarray:
        """Each row's risk type (all '' when the labels named none)."""
        return np.full(len(self), "", dtype=object) if self.risk_type is None else self.risk_type

    def column(self, name: str) -> np.ndarray:
        """One feature's column."""
        return self.X[:, FEATURES.index(name)]

    @staticmethod
    def concat(sets: list[TrainingSet]) -> TrainingSet:
        """All rows of several sets built over the same cut-offs."""
        names = ("X", "y", "cutoff", "county", "household", "rules_level", "fall_in", "alert_rule")
        parts = [np.concatenate([getattr(s, name) for s in sets]) for name in names]
        causes = [s.causes() for s in sets]
        return TrainingSet(*parts, sets[0].cutoffs, set().union(*(s.policy_versions for s in sets)),  # type: ignore[arg-type, call-arg]
                           None, np.concatenate(causes) if causes else None)  # fmt: skip


def feature_row(features: dict[str, float]) -> list[float]:
    """Features in FEATURES order."""
    return [features[name] for name in FEATURES]


def build(
    histories: Iterable[tuple[str, Sequence[HouseholdEvent | Fact]]],
    labels: Labels,
    cutoffs: Sequence[date],
    policies: PolicyBook,
    horizon: int = HORIZON,
) -> TrainingSet:
    """Rows for every (household, cut-off) whose label is known; households without labels are skipped."""
    days = sorted(set(cutoffs))
    rows: list[list[float]] = []
    meta: list[tuple[bool, int, str, str, int, int, tuple[float, float]]] = []
    causes: list[str] = []
    versions: set[str] = set()
    for hid, events in histories:
        if hid not in labels:
            continue
        outcomes = {day: found for day in days if (found := labels.row(hid, day, horizon)) is not None}
        for day, snap in replay(events, list(outcomes), policies).items():
            assert snap.state.profile is not None
            rows.append(feature_row(snap.features))
            meta.append((outcomes[day][0], days.index(day), snap.state.profile.region_code[:6], hid,
                         snap.rules_level, outcomes[day][1], snap.alert_rule))  # fmt: skip
            causes.append(labels.cause(hid, day, horizon) if outcomes[day][0] else "")
            versions.add(snap.policy_version)
    columns: list[object] = list(zip(*meta, strict=True)) if meta else [()] * 7
    return TrainingSet(
        np.asarray(rows, dtype=float).reshape(-1, len(FEATURES)),
        np.asarray(columns[0], dtype=bool),
        np.asarray(columns[1], dtype=int),
        np.asarray(columns[2], dtype=object),
        np.asarray(columns[3], dtype=object),
        np.asarray(columns[4], dtype=int),
        np.asarray(columns[5], dtype=int),
        np.asarray(columns[6], dtype=float).reshape(-1, 2),
        days,
        versions,
        risk_type=np.asarray(causes, dtype=object),
    )


def training_cutoffs(labels: Labels, until: date | None, horizon: int = HORIZON) -> list[date]:
    """Cut-offs whose whole horizon ends by `until` (labels known then); every label cut-off when None."""
    return [day for day in labels.cutoffs() if until is None or add_months(day, horizon) <= until]


def later_cutoffs(labels: Labels, test_from: date) -> list[date]:
    """Cut-offs whose horizon starts on or after `test_from` (outcomes from then on)."""
    return [day for day in labels.cutoffs() if day >= test_from - timedelta(days=1)]
