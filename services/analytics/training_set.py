"""Point-in-time training rows: the scoring service's own state and features at each cut-off, and the label."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from services.common.events import HouseholdEvent
from services.common.policy import PolicyBook
from services.scoring.facts import Fact, fact_of
from services.scoring.features import FEATURES, household_features
from services.scoring.rules import RANK, assess
from services.scoring.state import HouseholdState, apply_event, month_shift

HORIZON = 12  # months after the cut-off in which falling below the line is the positive label
CHINA = timezone(timedelta(hours=8))


def month_end(month: str) -> datetime:
    """The cut-off at the end of `month` (China time): the last instant whose events count."""
    return datetime.fromisoformat(f"{month_shift(month, 1)}-01T00:00:00+08:00") - timedelta(microseconds=1)


@dataclass
class Snapshot:
    """A household at one cut-off: features, the rules-only level, and the policy in force."""

    features: dict[str, float]
    rules_level: int  # 0 green, 1 yellow, 2 red
    policy_version: str


def replay(
    events: Sequence[HouseholdEvent | Fact], cutoffs: Sequence[str], policies: PolicyBook
) -> dict[str, Snapshot]:
    """Snapshots at the end of each cut-off month, using only events whose event time is ≤ that cut-off."""
    state = HouseholdState()
    ordered = sorted(map(fact_of, events), key=lambda e: (e.time, e.key))
    snapshots, position = {}, 0
    for month in cutoffs:
        limit = month_end(month)
        while position < len(ordered) and ordered[position].time <= limit:
            state = apply_event(state, ordered[position])
            position += 1
        snapshot = snapshot_of(state, policies)
        if snapshot is not None:
            snapshots[month] = snapshot
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
    return Snapshot(features, RANK[assessment.level], policy.version)


@dataclass
class TrainingSet:
    """Rows (household × cut-off) of features, labels and what evaluation needs alongside."""

    X: np.ndarray
    y: np.ndarray
    cutoff: np.ndarray  # index into `cutoffs`
    county: np.ndarray  # 6-digit county code
    household: np.ndarray
    rules_level: np.ndarray
    fall_in: np.ndarray  # months from the cut-off to the first month below the line (0: none in the horizon)
    cutoffs: list[str]
    policy_versions: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> TrainingSet:
        """Rows where `mask` holds."""
        parts = (self.X, self.y, self.cutoff, self.county, self.household, self.rules_level, self.fall_in)
        return TrainingSet(*(part[mask] for part in parts), self.cutoffs, self.policy_versions)  # type: ignore[arg-type, call-arg]

    @staticmethod
    def concat(sets: list[TrainingSet]) -> TrainingSet:
        """All rows of several sets built over the same cut-offs."""
        names = ("X", "y", "cutoff", "county", "household", "rules_level", "fall_in")
        parts = [np.concatenate([getattr(s, name) for s in sets]) for name in names]
        return TrainingSet(*parts, sets[0].cutoffs, set().union(*(s.policy_versions for s in sets)))  # type: ignore[arg-type, call-arg]


def label(below: Sequence[int], start: str, cutoff: str) -> tuple[bool, int] | None:
    """(eligible and positive, months to the fall) from monthly truth; None when not eligible.

    Eligible: above the line in the cut-off month, with the whole horizon known.
    """
    c = _months_between(start, cutoff)
    if c < 0 or c + HORIZON > len(below) - 1 or below[c]:
        return None
    ahead = below[c + 1 : c + 1 + HORIZON]
    first = next((k + 1 for k, b in enumerate(ahead) if b), 0)
    return bool(first), first


def _months_between(start: str, month: str) -> int:
    return (int(month[:4]) - int(start[:4])) * 12 + int(month[5:7]) - int(start[5:7])


def apply_verdicts(ts: TrainingSet, ids: list[str], verdicts: list[dict[str, Any]]) -> int:
    """Township verdicts override labels: confirmed → 1, dismissed → 0 for cut-offs whose horizon holds the decision."""
    index = {hid: i for i, hid in enumerate(ids)}
    changed = 0
    for verdict in verdicts:
        h = index.get(verdict["household_id"])
        decided = str(verdict["decided_at"])[:7]
        if h is None or verdict["verdict"] not in ("confirmed", "dismissed"):
            continue
        for row in np.nonzero(ts.household == h)[0]:
            gap = _months_between(ts.cutoffs[ts.cutoff[row]], decided)
            if 0 < gap <= HORIZON:
                ts.y[row] = verdict["verdict"] == "confirmed"
                changed += 1
    return changed


def read_verdicts(path: Path) -> list[dict[str, Any]]:
    """Verdicts JSONL: one {household_id, decided_at, verdict} per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def feature_row(features: dict[str, float]) -> list[float]:
    """Features in the model's column order."""
    return [features[name] for name in FEATURES]


def build(
    histories: Sequence[tuple[str, Sequence[HouseholdEvent | Fact]]],
    truth: dict[str, dict[str, Any]],
    cutoffs: list[str],
    policies: PolicyBook,
    first_household: int = 0,
) -> TrainingSet:
    """Rows for every (household, cut-off) that is eligible; households without truth are skipped."""
    rows: list[list[float]] = []
    meta: list[tuple[bool, int, str, int, int, int]] = []
    versions: set[str] = set()
    for h, (hid, events) in enumerate(histories, start=first_household):
        known = truth.get(hid)
        if known is None:
            continue
        for month, snap in replay(events, cutoffs, policies).items():
            outcome = label(known["below"], known["start"], month)
            if outcome is None:
                continue
            rows.append(feature_row(snap.features))
            meta.append((outcome[0], cutoffs.index(month), known["region_code"][:6], h, snap.rules_level, outcome[1]))
            versions.add(snap.policy_version)
    columns: list[Any] = list(zip(*meta, strict=True)) if meta else [()] * 6
    return TrainingSet(
        np.asarray(rows, dtype=float).reshape(-1, len(FEATURES)),
        np.asarray(columns[0], dtype=bool),
        np.asarray(columns[1], dtype=int),
        np.asarray(columns[2], dtype=object),
        np.asarray(columns[3], dtype=int),
        np.asarray(columns[4], dtype=int),
        np.asarray(columns[5], dtype=int),
        cutoffs,
        versions,
    )
