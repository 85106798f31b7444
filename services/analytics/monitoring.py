"""Watching a served model: its training reference (bins of every feature and of the score), drift against it
(population stability index) and calibration against the townships' verdicts. Pure functions over counts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

REFERENCE_BINS = 10  # deciles of the training rows
SCORE_BANDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)  # probability bands of the calibration by verdict
PSI_SMOOTHING = 0.5  # counts added to every bin so that an empty bin is not an infinite divergence


def edges_of(values: np.ndarray, bins: int = REFERENCE_BINS) -> list[float]:
    """Interior bin edges: the values' quantiles, ties merged (a binary feature has one or two edges)."""
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]) if len(values) else np.empty(0)
    return sorted({round(float(q), 6) for q in quantiles})


def bin_of(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Each value's bin: 0 below the first edge … len(edges) at or above the last."""
    return np.searchsorted(np.asarray(edges, dtype=float), values, side="right")


def shares(values: np.ndarray, edges: Sequence[float]) -> list[float]:
    """The share of the values in each bin."""
    counts = np.bincount(bin_of(values, edges), minlength=len(edges) + 1)
    return [round(float(c) / max(len(values), 1), 6) for c in counts]


def reference(X: np.ndarray, names: Sequence[str], probabilities: np.ndarray) -> dict[str, Any]:
    """What drift is measured against: per feature and for the score, the training rows' bin edges and shares."""
    features = {}
    for j, name in enumerate(names):
        edges = edges_of(X[:, j])
        features[name] = {"edges": edges, "shares": shares(X[:, j], edges)}
    edges = edges_of(probabilities)
    return {"rows": len(X), "features": features, "score": {"edges": edges, "shares": shares(probabilities, edges)}}


def psi(expected: Sequence[float], observed: Sequence[int]) -> float | None:
    """Population stability index of observed bin counts against the expected shares (None without counts)."""
    total = sum(observed)
    if total == 0 or not expected:
        return None
    width = len(expected)
    smoothed = [(observed[i] if i < len(observed) else 0) + PSI_SMOOTHING for i in range(width)]
    observed_share = [c / (total + PSI_SMOOTHING * width) for c in smoothed]
    expected_share = [(e * total + PSI_SMOOTHING) / (total + PSI_SMOOTHING * width) for e in expected]
    return float(sum((o - e) * math.log(o / e) for o, e in zip(observed_share, expected_share, strict=True)))


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The 95 % Wilson interval of a rate (None without trials)."""
    if trials == 0:
        return None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def band_of(probability: float) -> int:
    """The calibration band of a probability (an index into SCORE_BANDS)."""
    return max(0, min(len(SCORE_BANDS) - 2, int(np.searchsorted(SCORE_BANDS, probability, side="right")) - 1))


def band_words(band: int) -> str:
    """A band as a range, e.g. "0.30–0.50"."""
    return f"{SCORE_BANDS[band]:.2f}–{SCORE_BANDS[band + 1]:.2f}"


def drift(reference_doc: Mapping[str, Any], features: Sequence[str], counts: Mapping[str, int]) -> dict[str, Any]:
    """One county-month's drift: PSI of the score and each feature, from counters "s:{bin}" and "f:{i}:{bin}"."""

    def observed(prefix: str, width: int) -> list[int]:
        return [int(counts.get(f"{prefix}{b}", 0)) for b in range(width)]

    score = reference_doc["score"]
    feature_psi: dict[str, float | None] = {}
    for i, name in enumerate(features):
        expected = reference_doc["features"].get(name)
        if expected is not None:
            feature_psi[name] = psi(expected["shares"], observed(f"f:{i}:", len(expected["shares"])))
    found: dict[str, Any] = {"households": int(counts.get("n", 0)), "feature_psi": feature_psi,
                             "score_psi": psi(score["shares"], observed("s:", len(score["shares"])))}  # fmt: skip
    found["levels"] = {level: int(counts.get(f"level:{level}", 0)) for level in ("red", "yellow", "green")}
    found["raised_by"] = {who: int(counts.get(f"raised:{who}", 0)) for who in ("model_only", "rules_only", "both")}
    return found


def calibration(counts: Mapping[str, int], min_decided: int) -> list[dict[str, Any]]:
    """Per probability band: alerts confirmed, dismissed, still open after the deadline, open; the observed
    confirmation rate with its interval next to the model's mean predicted probability; `outside` when the
    prediction lies outside the interval of a band with at least `min_decided` verdicts."""
    bands = []
    for band in range(len(SCORE_BANDS) - 1):
        got = {outcome: int(counts.get(f"{band}|{outcome}", 0)) for outcome in ("confirmed", "dismissed", "overdue",
                                                                                 "open")}  # fmt: skip
        alerts = sum(got.values())
        if alerts == 0:
            continue
        decided = got["confirmed"] + got["dismissed"]
        predicted = int(counts.get(f"{band}|p", 0)) / 1e6 / alerts
        interval = wilson(got["confirmed"], decided)
        rate = got["confirmed"] / decided if decided else None
        outside = bool(interval and decided >= min_decided and not interval[0] <= predicted <= interval[1])
        bands.append({"band": band_words(band), **got, "confirm_rate": rate, "confirm_rate_interval": interval,
                      "predicted": round(predicted, 4), "outside_interval": outside})  # fmt: skip
    return bands
