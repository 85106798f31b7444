"""The served boosting model compiled into a few numpy operations: the same probabilities as scikit-learn, ~5× faster.

scikit-learn predicts a histogram gradient boosting model tree by tree: 200 calls of ~9 µs each before a row is
read, then ~5 µs a row (profiled in a county's push: two calls a scoring batch, the households and the variants of
their attributions). The trees of a boosted model are small (at most `max_leaf_nodes` leaves), so here every split
of every tree is tested at once (a row goes left where its value is at most the threshold, or is missing and the
split sends missing values left, as scikit-learn decides), each leaf is reached where every split on its path agrees,
and the raw score is the reached leaves' values summed (one matrix product); the sigmoid calibration follows.
Only the shape training makes (`analytics/selection.py`: a binary boosting model with numeric features in a
sigmoid-calibrated `CalibratedClassifierCV` without ensemble) is compiled; any other estimator keeps scikit-learn's
own prediction. `tests/unit/test_compiled_trees.py` holds both to the same probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

_CHUNK = 128  # rows tested together: at 256 rows (1.6 MB of leaf matrix) every chunk was 5× slower (page faults)


class CompiledTrees:
    """Probability of the positive class, as `estimator.predict_proba(rows)[:, 1]` gives it."""

    def __init__(self, boosting: Any, calibrator: Any):
        features: list[int] = []
        thresholds: list[float] = []
        missing_left: list[bool] = []
        paths: list[tuple[tuple[int, bool], ...]] = []  # per leaf: (split number, goes left) from the root
        values: list[float] = []
        for (tree,) in boosting._predictors:
            nodes = tree.nodes
            pending: list[tuple[int, tuple[tuple[int, bool], ...]]] = [(0, ())]  # (node, its path)
            while pending:
                number, path = pending.pop()
                node = nodes[number]
                if node["is_leaf"]:
                    paths.append(path)
                    values.append(float(node["value"]))
                    continue
                split = len(features)
                features.append(int(node["feature_idx"]))
                thresholds.append(float(node["num_threshold"]))
                missing_left.append(bool(node["missing_go_to_left"]))
                pending += [(int(node["left"]), (*path, (split, True))), (int(node["right"]), (*path, (split, False)))]
        count, depth = len(features), max(1, *(len(path) for path in paths))
        # a leaf's path as columns of [goes left of each split | goes right of each split | always true]
        self._path = np.full((len(paths), depth), 2 * count, dtype=np.intp)
        for leaf, path in enumerate(paths):
            for step, (split, goes_left) in enumerate(path):
                self._path[leaf, step] = split if goes_left else count + split
        self._features = np.asarray(features, dtype=np.intp)
        self._thresholds = np.asarray(thresholds, dtype=np.float64)
        self._missing_left = np.asarray(missing_left, dtype=bool)
        self._values = np.asarray(values, dtype=np.float64)
        self._baseline = float(np.asarray(boosting._baseline_prediction).ravel()[0])
        self._a, self._b = float(calibrator.a_), float(calibrator.b_)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Probability of each row (the estimator's column order)."""
        if len(rows) == 0:
            return np.empty(0)
        raw = np.concatenate([self._raw(rows[start : start + _CHUNK]) for start in range(0, len(rows), _CHUNK)])
        return np.asarray(expit(-(self._a * raw + self._b)), dtype=float)

    def _raw(self, rows: np.ndarray) -> np.ndarray:
        tested = rows[:, self._features]
        left = tested <= self._thresholds
        if np.isnan(rows).any():  # rarely: the stream's features are never missing
            left |= np.isnan(tested) & self._missing_left
        sides = np.concatenate([left, ~left, np.ones((len(rows), 1), dtype=bool)], axis=1)
        reached = sides[:, self._path[:, 0]]
        for step in range(1, self._path.shape[1]):
            reached &= sides[:, self._path[:, step]]
        return np.asarray(reached.astype(np.float64) @ self._values + self._baseline)


def compiled(estimator: Any) -> CompiledTrees | None:
    """The estimator compiled, when it has the shape training makes; None for any other (scikit-learn predicts)."""
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated is None or len(calibrated) != 1 or len(getattr(estimator, "classes_", ())) != 2:
        return None
    boosting, calibrators = calibrated[0].estimator, calibrated[0].calibrators
    trees = getattr(boosting, "_predictors", None)
    if trees is None or getattr(boosting, "n_trees_per_iteration_", 0) != 1 or len(calibrators) != 1:
        return None
    if not all(hasattr(calibrators[0], name) for name in ("a_", "b_")):
        return None  # isotonic calibration: not compiled
    if getattr(calibrated[0], "method", "sigmoid") != "sigmoid" or not trees:
        return None
    if any(tree.nodes["is_categorical"].any() for (tree,) in trees):
        return None
    return CompiledTrees(boosting, calibrators[0])
