"""Out-of-time evaluation: discrimination, calibration, recall at alert budgets, fairness across counties, recall by
the risk type of the positives, lead time, each next to baselines on the same rows and with bootstrap intervals
(households resampled, not rows)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from services.analytics.ranking import average_precision, roc_auc
from services.analytics.training_set import TrainingSet
from services.common.months import add_months
from services.common.risk_types import RISK_TYPES

BUDGETS = (0.05, 0.10, 0.20)
MIN_COUNTY_POSITIVES = 10  # a county's recall is shown only with this many positives (else it is noise)
INTERVAL_METRICS = ("roc_auc", "pr_auc", "recall_at_10pct", "precision_at_10pct")


@dataclass
class Evaluation:
    """Metrics of one scorer on the evaluated rows; `intervals` holds 95 % bootstrap intervals."""

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    county_recall: dict[str, float] = field(default_factory=dict)
    risk_type_recall: dict[str, float] = field(default_factory=dict)  # at the 10 % budget, by the positives' cause
    reliability: tuple[list[float], list[float]] = ([], [])
    score: np.ndarray = field(default_factory=lambda: np.empty(0))
    not_applicable: dict[str, str] = field(default_factory=dict)  # metric → why it means nothing on these rows


def flagged_at_budget(ts: TrainingSet, score: np.ndarray, budget: float) -> np.ndarray:
    """Per cut-off (and stratum), the top `budget` share of households by score (ties in a fixed random order)."""
    tie = np.random.default_rng(0).random(len(score)) * 1e-9
    flagged = np.zeros(len(score), bool)
    groups = ts.cutoff * (int(ts.strata().max(initial=0)) + 1) + ts.strata()
    for c in np.unique(groups):
        rows = np.nonzero(groups == c)[0]
        k = math.ceil(budget * len(rows))
        flagged[rows[np.argsort(-(score[rows] + tie[rows]))[:k]]] = True
    return flagged


def flagged_as_issued(ts: TrainingSet, probability: np.ndarray) -> np.ndarray:
    """What the stream would alert on: the region's budget where its policy sets one, else the fixed cut."""
    flagged = probability >= ts.alert_rule[:, 1]
    for budget in np.unique(ts.alert_rule[:, 0][~np.isnan(ts.alert_rule[:, 0])]):
        rows = ts.alert_rule[:, 0] == budget
        flagged[rows] = flagged_at_budget(ts, probability, float(budget))[rows]
    return flagged


def recall_precision(ts: TrainingSet, flagged: np.ndarray, weight: np.ndarray | None = None) -> tuple[float, float]:
    """Recall and precision of a set of flagged rows (rows weighted by `weight`, e.g. a bootstrap's counts)."""
    w = np.ones(len(ts)) if weight is None else weight
    hits = float(w[flagged & ts.y].sum())
    return hits / max(float(w[ts.y].sum()), 1e-9), hits / max(float(w[flagged].sum()), 1e-9)


def lead_days(ts: TrainingSet, flagged: np.ndarray) -> list[int]:
    """Per household caught: days from its first flagged cut-off to the first positive outcome after it."""
    first: dict[str, int] = {}
    for found in np.nonzero(flagged & ts.y)[0]:
        row, h = int(found), str(ts.household[found])
        if h not in first or ts.cutoff[row] < ts.cutoff[first[h]]:
            first[h] = row
    leads = []
    for row in first.values():
        cutoff = ts.cutoffs[ts.cutoff[row]]
        leads.append((add_months(cutoff, int(ts.fall_in[row])) - cutoff).days)
    return leads


def county_recalls(ts: TrainingSet, flagged: np.ndarray) -> dict[str, float]:
    """Recall per county with at least MIN_COUNTY_POSITIVES positives."""
    out = {}
    for county in sorted(set(ts.county.tolist())):
        mask = ts.county == county
        if ts.y[mask].sum() >= MIN_COUNTY_POSITIVES:
            out[county] = float((flagged & ts.y & mask).sum() / ts.y[mask].sum())
    return out


def risk_type_positives(ts: TrainingSet) -> dict[str, int]:
    """Positives per risk type their labels name (in the vocabulary's order; positives naming none left out)."""
    causes = ts.causes()[ts.y]
    return {name: n for name in RISK_TYPES if (n := int((causes == name).sum()))}


def risk_type_recalls(ts: TrainingSet, flagged: np.ndarray) -> dict[str, float]:
    """Recall among the positives of each risk type: which causes the scorer misses."""
    causes = ts.causes()
    return {name: float((flagged & ts.y & (causes == name)).sum() / n) for name, n in risk_type_positives(ts).items()}


def attribution_agreement(
    ts: TrainingSet, raised: np.ndarray, attributed: Sequence[Sequence[str]]
) -> dict[str, dict[str, Any]]:
    """Per risk type of the positives the model raised: how many, the share whose attributions point to that type
    (`attributed`: each row's types, largest attribution first), and the type they point to first most often."""
    causes = ts.causes()
    out: dict[str, dict[str, Any]] = {}
    for name in RISK_TYPES:
        rows = np.flatnonzero(raised & ts.y & (causes == name)).tolist()
        if rows:
            firsts = Counter(attributed[i][0] for i in rows if attributed[i]).most_common(1)
            out[name] = {"raised": len(rows), "attributed_to_it": sum(name in attributed[i] for i in rows) / len(rows),
                         "first_attribution": firsts[0][0] if firsts else ""}  # fmt: skip
    return out


def lead_time_meaning(ts: TrainingSet, leads: list[int]) -> str | None:
    """Why a median lead time means nothing on these rows (None when it means something)."""
    if not leads:
        return "no positive household was flagged"
    days = sorted({ts.cutoffs[c] for c in np.unique(ts.cutoff)})
    spacing = min(((b - a).days for a, b in zip(days, days[1:], strict=False)), default=None)
    if len(set(leads)) == 1 or (spacing is not None and spacing >= 365):
        return ("outcomes are observed only once a period (a survey wave): the lead time would be the survey's "
                "spacing, not how early the warning came")  # fmt: skip
    return None


def _at_budget_notes(result: Evaluation, ts: TrainingSet, flagged: np.ndarray) -> None:
    """County recall, recall by risk type and lead time at the 10 % budget, or why they mean nothing here."""
    m = result.metrics
    result.county_recall = county_recalls(ts, flagged)
    result.risk_type_recall = risk_type_recalls(ts, flagged)
    values = list(result.county_recall.values())
    if len(values) >= 2 and max(values) > 0:
        m["county_recall_worst_to_best"] = min(values) / max(values)
    else:
        result.not_applicable["county_recall_worst_to_best"] = (
            f"fewer than two counties with {MIN_COUNTY_POSITIVES} or more positives"
        )
    leads = lead_days(ts, flagged)
    why = lead_time_meaning(ts, leads)
    if why is None:
        m["median_lead_days_at_10pct"] = float(np.median(leads))
    else:
        result.not_applicable["median_lead_days_at_10pct"] = why


def _ranked(
    metric: Callable[..., float], ts: TrainingSet, score: np.ndarray, weight: np.ndarray | None = None
) -> float:
    """A ranking metric within each stratum (scores of different fits are not comparable), averaged by rows."""
    w = np.ones(len(ts)) if weight is None else weight
    values, sizes = [], []
    strata = ts.strata()
    for s in np.unique(strata):
        rows = (strata == s) & (w > 0)
        y = ts.y[rows]
        if y.all() or not y.any():
            continue
        values.append(metric(y, score[rows], w[rows]))
        sizes.append(float(w[rows].sum()))
    return float(np.average(values, weights=sizes)) if values else float("nan")


def validation_auc(ts: TrainingSet, score: np.ndarray, weight: np.ndarray | None = None) -> float:
    """ROC-AUC within each stratum, averaged by rows (rows weighted by `weight`, e.g. a bootstrap's counts)."""
    return _ranked(roc_auc, ts, score, weight)


def evaluate(name: str, ts: TrainingSet, score: np.ndarray, probabilistic: bool = True) -> Evaluation:
    """Every metric for one scorer (probabilities, or any ranking such as the rules' levels)."""
    result = Evaluation(name, score=score)
    m = result.metrics
    m["roc_auc"] = _ranked(roc_auc, ts, score)
    m["pr_auc"] = _ranked(average_precision, ts, score)
    m["positive_share"] = float(ts.y.mean()) if len(ts) else 0.0
    if probabilistic:
        m["brier"] = float(brier_score_loss(ts.y, score))
        truth, predicted = calibration_curve(ts.y, score, n_bins=10, strategy="quantile")
        result.reliability = (predicted.tolist(), truth.tolist())
        issued = flagged_as_issued(ts, score)
        recall, precision = recall_precision(ts, issued)
        m |= {"alert_share_as_issued": float(issued.mean()), "recall_as_issued": recall,
              "precision_as_issued": precision}  # fmt: skip
    for budget in BUDGETS:
        flagged = flagged_at_budget(ts, score, budget)
        recall, precision = recall_precision(ts, flagged)
        pct = round(budget * 100)
        m[f"recall_at_{pct}pct"], m[f"precision_at_{pct}pct"] = recall, precision
        if pct == 10:
            _at_budget_notes(result, ts, flagged)
    return result


def evaluate_rules(ts: TrainingSet) -> Evaluation:
    """Rules only: red before yellow before green at a budget; as issued, every red or yellow is an alert."""
    result = evaluate("rules only", ts, ts.rules_level.astype(float), probabilistic=False)
    alerts = ts.rules_level >= 1
    recall, precision = recall_precision(ts, alerts)
    leads = lead_days(ts, alerts)
    result.metrics |= {
        "alert_share_as_issued": float(alerts.mean()),
        "recall_as_issued": recall,
        "precision_as_issued": precision,
    }
    why = lead_time_meaning(ts, leads)
    if why is None:
        result.metrics["median_lead_days_as_issued"] = float(np.median(leads))
    else:
        result.not_applicable["median_lead_days_as_issued"] = why
    return result


def income_rank(ts: TrainingSet) -> np.ndarray:
    """The simplest ranking: lowest current per-capita income after rigid spending (against the line) first."""
    return -ts.column("after_rigid_to_line")


def _replicate(ts: TrainingSet, score: np.ndarray, weight: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    recall, precision = recall_precision(ts, flagged, weight)
    return {
        "roc_auc": _ranked(roc_auc, ts, score, weight),
        "pr_auc": _ranked(average_precision, ts, score, weight),
        "recall_at_10pct": recall,
        "precision_at_10pct": precision,
    }


def household_resamples(ts: TrainingSet, rounds: int, seed: int = 0) -> Iterator[np.ndarray]:
    """Row weights of `rounds` bootstrap samples that draw whole households (a row counts as often as its household)."""
    households, inverse = np.unique(ts.household.astype(str), return_inverse=True)
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        counts = np.bincount(rng.integers(len(households), size=len(households)), minlength=len(households))
        yield counts[inverse].astype(float)


def bootstrap(
    ts: TrainingSet, evaluations: list[Evaluation], rounds: int = 200, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """Fill each evaluation's 95 % intervals by resampling households; returns intervals of the first scorer's
    ROC-AUC minus each other scorer's (paired: the same resampled households)."""
    if rounds <= 0 or not len(ts):
        return {}
    flags = [flagged_at_budget(ts, e.score, 0.10) for e in evaluations]
    draws: list[list[dict[str, float]]] = [[] for _ in evaluations]
    for weight in household_resamples(ts, rounds, seed):
        for i, e in enumerate(evaluations):
            draws[i].append(_replicate(ts, e.score, weight, flags[i]))
    for e, found in zip(evaluations, draws, strict=True):
        for key in INTERVAL_METRICS:
            values = np.asarray([d[key] for d in found], dtype=float)
            values = values[~np.isnan(values)]
            if len(values):
                e.intervals[key] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    differences = {}
    first = np.asarray([d["roc_auc"] for d in draws[0]])
    for e, found in zip(evaluations[1:], draws[1:], strict=True):
        gap = first - np.asarray([d["roc_auc"] for d in found])
        gap = gap[~np.isnan(gap)]
        if len(gap):
            differences[e.name] = (float(np.percentile(gap, 2.5)), float(np.percentile(gap, 97.5)))
    return differences
