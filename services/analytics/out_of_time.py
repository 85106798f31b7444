"""Out-of-time evaluation of a registered version: the later period scored exactly as the stream scores it."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from services.analytics.backtest import load_version
from services.analytics.evaluation import (
    Evaluation,
    attribution_agreement,
    bootstrap,
    evaluate,
    evaluate_rules,
    income_rank,
    recall_precision,
    risk_type_positives,
)
from services.analytics.labels import Labels
from services.analytics.report import write_period_report
from services.analytics.training import INCOME_RANK, PLAIN, REFERENCE_FILE
from services.analytics.training_set import TrainingSet, cutoff_instant, feature_row, snapshot_of
from services.common.events import HouseholdEvent
from services.common.levels import LEVEL_RANK
from services.common.policy import PolicyBook
from services.scoring.causes import attributed_risk_types
from services.scoring.facts import Fact, fact_of
from services.scoring.features import FEATURES
from services.scoring.scorer import Changed, score_changed
from services.scoring.state import HouseholdState, apply_event

BATCH = 1000  # households scored in one call, as the stream's micro-batches do


@dataclass
class PeriodEvaluation:
    """A version's scores over a later period next to the baselines on the same rows."""

    version: str
    rows: TrainingSet
    evaluations: list[Evaluation]
    differences: dict[str, tuple[float, float]]
    probabilities: np.ndarray
    as_issued: np.ndarray  # the stream raised model_risk
    attributed: list[tuple[str, ...]] = field(default_factory=list)  # per row, the risk types of its attributions
    lines: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # cut-off → (policy version, line) used


def _states_at(
    events: Sequence[HouseholdEvent | Fact], days: Sequence[date]
) -> dict[date, tuple[HouseholdState, Fact]]:
    """The household's state (and the latest event applied) at the end of each day, as the stream builds it."""
    ordered = sorted(map(fact_of, events), key=lambda e: (e.time, e.key))
    state, out, position, latest = HouseholdState(), {}, 0, None
    for day in sorted(days):
        limit = cutoff_instant(day)
        while position < len(ordered) and ordered[position].time <= limit:
            latest = ordered[position]
            state = apply_event(state, latest)
            position += 1
        if latest is not None and state.profile is not None:
            out[day] = (state, latest)
    return out


def _guard(labels_until: date | None, version: str, cutoffs: Sequence[date], policies: PolicyBook) -> None:
    early = [day for day in cutoffs if labels_until is not None and day < labels_until]
    if early:
        raise ValueError(
            f"model {version} learnt from outcomes up to {labels_until}: cut-off {early[0]} would score outcomes it "
            "was trained on; evaluate from that date on"
        )
    policies.require_covered(cutoffs)


def evaluate_period(
    model_dir: Path,
    version: str,
    histories: dict[str, list[HouseholdEvent]],
    labels: Labels,
    cutoffs: Sequence[date],
    policies: PolicyBook,
    bootstrap_rounds: int = 200,
) -> PeriodEvaluation:
    """Score every labelled household at each cut-off with scoring's own apply_event and score_changed."""
    model = load_version(model_dir, version)
    horizon = model.manifest.horizon_months
    _guard(model.manifest.labels_until, version, cutoffs, policies)
    days = sorted(set(cutoffs))
    pending: list[tuple[Changed, int, bool, int, list[float], int, tuple[float, float]]] = []
    causes: list[str] = []
    lines: dict[date, set[tuple[str, float]]] = defaultdict(set)
    for hid, events in sorted(histories.items()):
        wanted = {day: found for day in days if (found := labels.row(hid, day, horizon)) is not None}
        for day, (state, latest) in _states_at(events, list(wanted)).items():
            snap = snapshot_of(state, policies)
            if snap is not None:
                lines[day].add(line_in_force(state, policies))
                row = feature_row(snap.features)
                pending.append((Changed(hid, state, latest), days.index(day), *wanted[day], row, snap.rules_level,
                                snap.alert_rule))  # fmt: skip
                causes.append(labels.cause(hid, day, horizon) if wanted[day][0] else "")
    if not pending:
        raise ValueError("no household has both events and a known outcome at the chosen cut-offs")
    probabilities, issued, levels, attributed = [], [], [], []
    now = datetime.now(UTC)
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        for outcome in score_changed([item[0] for item in batch], policies, now, model):
            score = outcome.score
            assert score is not None and score.probability is not None
            codes = {reason.code for reason in score.reasons}
            probabilities.append(score.probability)
            issued.append("model_risk" in codes)
            attributed.append(attributed_risk_types(score))
            levels.append(max((LEVEL_RANK[r.level] for r in score.reasons if r.code != "model_risk"), default=0))
    rows = TrainingSet(
        np.asarray([item[4] for item in pending], dtype=float).reshape(-1, len(FEATURES)),
        np.asarray([item[2] for item in pending], dtype=bool),
        np.asarray([item[1] for item in pending], dtype=int),
        np.asarray([item[0].state.profile.region_code[:6] for item in pending if item[0].state.profile], dtype=object),
        np.asarray([item[0].household_id for item in pending], dtype=object),
        np.asarray(levels, dtype=int),
        np.asarray([item[3] for item in pending], dtype=int),
        np.asarray([item[6] for item in pending], dtype=float).reshape(-1, 2),
        days,
        risk_type=np.asarray(causes, dtype=object),
    )
    result = _compare(model_dir, version, rows, np.asarray(probabilities), np.asarray(issued), bootstrap_rounds)
    result.lines = {day.isoformat(): sorted(found) for day, found in sorted(lines.items())}
    result.attributed = attributed
    return result


def line_in_force(state: HouseholdState, policies: PolicyBook) -> tuple[str, float]:
    """The policy version and monitoring line a household's figures were measured against."""
    assert state.profile is not None
    policy = policies.for_region(state.profile.region_code, int((state.reference_month() or "")[:4]))
    return policy.version, float(policy.values.monitoring_line)


def _compare(
    model_dir: Path, version: str, rows: TrainingSet, probability: np.ndarray, issued: np.ndarray, rounds: int
) -> PeriodEvaluation:
    evaluations = [evaluate(f"model {version}", rows, probability), evaluate_rules(rows),
                   evaluate(INCOME_RANK, rows, income_rank(rows), probabilistic=False)]  # fmt: skip
    reference = model_dir / version / REFERENCE_FILE
    if reference.exists():
        evaluations.append(evaluate(PLAIN, rows, joblib.load(reference).predict_proba(rows.X)[:, 1]))
    recall, precision = recall_precision(rows, issued)
    evaluations[0].metrics |= {"alert_share_as_issued": float(issued.mean()), "recall_as_issued": recall,
                               "precision_as_issued": precision}  # fmt: skip
    differences = bootstrap(rows, evaluations, rounds)
    return PeriodEvaluation(version, rows, evaluations, differences, probability, issued)


def summary(result: PeriodEvaluation) -> dict[str, Any]:
    """What the CLI prints and the API answers: rows, and each scorer's figures with intervals."""
    rows = result.rows
    return {
        "model": result.version,
        "cutoffs": [rows.cutoffs[c].isoformat() for c in np.unique(rows.cutoff)],
        "rows": len(rows),
        "positives": int(rows.y.sum()),
        "households": len(np.unique(rows.household)),
        "scorers": {
            e.name: {key: round(value, 4) for key, value in e.metrics.items()}
            | {f"{key}_interval": [round(v, 4) for v in pair] for key, pair in e.intervals.items()}
            | ({"not_applicable": dict(e.not_applicable)} if e.not_applicable else {})
            for e in result.evaluations
        },
        "roc_auc_model_minus": {name: [round(a, 4), round(b, 4)] for name, (a, b) in result.differences.items()},
        "positives_by_risk_type": risk_type_positives(rows),
        "recall_at_10pct_by_risk_type": {
            e.name: {name: round(value, 4) for name, value in e.risk_type_recall.items()} for e in result.evaluations
        },
        "model_attributions_by_risk_type": {
            name: found | {"attributed_to_it": round(found["attributed_to_it"], 4)}
            for name, found in attribution_agreement(rows, result.as_issued, result.attributed).items()
        },
        "monitoring_lines": {
            day: [{"policy": version, "line": line} for version, line in used] for day, used in result.lines.items()
        },  # fmt: skip
    }


SCORES_FILE = "scores.csv"  # every scorer's score of every row: anyone can recompute every figure


def write_scores(result: PeriodEvaluation, path: Path) -> None:
    """`household_id, cut_off, scorer, score, label` for every scorer and row (rules: their level, 0-2)."""
    rows = result.rows
    cutoffs = [rows.cutoffs[c].isoformat() for c in rows.cutoff]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("household_id", "cut_off", "scorer", "score", "label"))
        for e in result.evaluations:
            writer.writerows(zip(rows.household, cutoffs, [e.name] * len(rows), map(repr, e.score.tolist()),
                                 rows.y.astype(int), strict=True))  # fmt: skip


def save_evaluation(result: PeriodEvaluation, folder: Path) -> dict[str, Any]:
    """Write the report, its plots, `summary.json` and `scores.csv` into `folder`; returns the summary."""
    found = summary(result)
    write_period_report(result, folder, f"Risk model {result.version}: out of time, {', '.join(found['cutoffs'])}")
    (folder / "summary.json").write_text(json.dumps(found, indent=2, ensure_ascii=False), encoding="utf-8")
    write_scores(result, folder / SCORES_FILE)
    return found
