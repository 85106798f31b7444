"""Weighted ranking metrics in NumPy: the values of scikit-learn's `roc_auc_score` and `average_precision_score`
with `sample_weight`, without their per-call input checks (a bootstrap calls them thousands of times)."""

from __future__ import annotations

import numpy as np


def _curve(y: np.ndarray, score: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted true and false positives at each distinct score, from the highest down."""
    order = np.argsort(-score, kind="mergesort")
    ranked, positive = score[order], y[order].astype(bool)
    w = weight[order]
    ends = np.r_[np.nonzero(np.diff(ranked))[0], len(ranked) - 1]  # the last row of each run of equal scores
    tps = np.cumsum(np.where(positive, w, 0.0))[ends]
    fps = np.cumsum(np.where(positive, 0.0, w))[ends]
    return tps, fps


def roc_auc(y: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), as `roc_auc_score(y, score, sample_weight=weight)`."""
    tps, fps = _curve(y, score, weight)
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    area = float(np.sum(np.diff(fps) * (tps[1:] + tps[:-1]) / 2))
    return area / float(tps[-1] * fps[-1])


def average_precision(y: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """Average precision, as `average_precision_score(y, score, sample_weight=weight)`."""
    tps, fps = _curve(y, score, weight)
    flagged = tps + fps
    precision = np.divide(tps, flagged, out=np.zeros_like(tps), where=flagged > 0)
    recall_steps = np.diff(np.r_[0.0, tps]) / tps[-1]
    return float(np.sum(recall_steps * precision))
