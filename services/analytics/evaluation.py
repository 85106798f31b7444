"""Out-of-time evaluation: discrimination, calibration, recall at alert budgets, fairness across counties, lead time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from services.analytics.training_set import TrainingSet, month_end
from services.scoring.state import month_shift

BUDGETS = (0.05, 0.10, 0.20)


@dataclass
class Evaluation:
    """Metrics of one scorer on the validation rows."""

    name: str
    metrics: dict[str, float] = field(default_factory=dict)
    county_recall: dict[str, float] = field(default_factory=dict)
    reliability: tuple[list[float], list[float]] = ([], [])
    roc: tuple[list[float], list[float]] = ([], [])


def flagged_at_budget(ts: TrainingSet, score: np.ndarray, budget: float) -> np.ndarray:
    """Per cut-off, the top `budget` share of households by score (ties broken by a fixed random order)."""
    tie = np.random.default_rng(0).random(len(score)) * 1e-9
    flagged = np.zeros(len(score), bool)
    for c in np.unique(ts.cutoff):
        rows = np.nonzero(ts.cutoff == c)[0]
        k = math.ceil(budget * len(rows))
        flagged[rows[np.argsort(-(score[rows] + tie[rows]))[:k]]] = True
    return flagged


def recall_precision(ts: TrainingSet, flagged: np.ndarray) -> tuple[float, float]:
    """Recall and precision of a set of flagged rows."""
    hits = int((flagged & ts.y).sum())
    return hits / max(int(ts.y.sum()), 1), hits / max(int(flagged.sum()), 1)


def lead_days(ts: TrainingSet, flagged: np.ndarray) -> list[int]:
    """Per household caught: days from its first flagged cut-off to the end of the month it fell below the line."""
    first: dict[int, int] = {}
    for found in np.nonzero(flagged & ts.y)[0]:
        row, h = int(found), int(ts.household[found])
        if h not in first or ts.cutoff[row] < ts.cutoff[first[h]]:
            first[h] = row
    leads = []
    for row in first.values():
        cutoff = ts.cutoffs[ts.cutoff[row]]
        fall = month_end(month_shift(cutoff, int(ts.fall_in[row])))
        leads.append((fall.date() - month_end(cutoff).date()).days)
    return leads


def county_recalls(ts: TrainingSet, flagged: np.ndarray) -> dict[str, float]:
    """Recall per county."""
    out = {}
    for county in sorted(set(ts.county.tolist())):
        mask = ts.county == county
        if ts.y[mask].sum() > 0:
            out[county] = float((flagged & ts.y & mask).sum() / ts.y[mask].sum())
    return out


def evaluate(name: str, ts: TrainingSet, score: np.ndarray, probabilistic: bool = True) -> Evaluation:
    """Every metric for one scorer (probabilities, or the rules' levels used as a ranking)."""
    result = Evaluation(name)
    m = result.metrics
    m["roc_auc"] = float(roc_auc_score(ts.y, score))
    m["pr_auc"] = float(average_precision_score(ts.y, score))
    if probabilistic:
        m["brier"] = float(brier_score_loss(ts.y, score))
        truth, predicted = calibration_curve(ts.y, score, n_bins=10, strategy="quantile")
        result.reliability = (predicted.tolist(), truth.tolist())
    for budget in BUDGETS:
        flagged = flagged_at_budget(ts, score, budget)
        recall, precision = recall_precision(ts, flagged)
        pct = round(budget * 100)
        m[f"recall_at_{pct}pct"], m[f"precision_at_{pct}pct"] = recall, precision
        if pct == 10:
            result.county_recall = county_recalls(ts, flagged)
            values = list(result.county_recall.values())
            m["county_recall_worst_to_best"] = min(values) / max(values) if values and max(values) > 0 else 0.0
            leads = lead_days(ts, flagged)
            m["median_lead_days_at_10pct"] = float(np.median(leads)) if leads else 0.0
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
        "median_lead_days_as_issued": float(np.median(leads)) if leads else 0.0,
    }
    return result
