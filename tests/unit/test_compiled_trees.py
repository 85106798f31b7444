"""The compiled boosting model gives scikit-learn's probabilities on every row, missing and boundary values included;
an estimator of any other shape is left to scikit-learn."""

from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from services.analytics.selection import _boosting
from services.scoring.compiled_trees import compiled
from services.scoring.features import FEATURES
from services.scoring.model import ModelManifest, RiskModel

WIDTH = 6


def _training(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, WIDTH))
    X[rng.random(X.shape) < 0.08] = np.nan  # missing values in training: some splits send them left, some right
    risk = np.nan_to_num(X[:, 0]) + 0.7 * np.nan_to_num(X[:, 1] * X[:, 2]) - np.isnan(X[:, 3]) + rng.normal(size=3000)
    return X, (risk > 0.5).astype(int)


def _rows(model_input: np.ndarray, boosting: HistGradientBoostingClassifier, seed: int = 1) -> np.ndarray:
    """Random rows, rows holding the splits' thresholds exactly, missing and infinite values."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(700, WIDTH)) * 2
    nodes = np.concatenate([tree.nodes for (tree,) in boosting._predictors])
    splits = nodes[nodes["is_leaf"] == 0]
    at = rng.choice(len(splits), size=300)
    rows[np.arange(300), splits["feature_idx"][at]] = splits["num_threshold"][at]
    rows[rng.random(rows.shape) < 0.1] = np.nan
    rows[rng.random(rows.shape) < 0.02] = np.inf
    rows[rng.random(rows.shape) < 0.02] = -np.inf
    return np.vstack([rows, model_input[:300]])


def test_the_model_training_makes_is_compiled_and_gives_scikit_learns_probability_on_every_row():
    X, y = _training()
    params = {"max_iter": 80, "learning_rate": 0.1, "max_leaf_nodes": 4, "min_samples_leaf": 20,
              "l2_regularization": 0.0}  # fmt: skip
    estimator = _boosting(params, X, y, np.asarray([f"H{n}" for n in range(len(X))]), [f"x{i}" for i in range(WIDTH)])
    fast = compiled(estimator)
    assert isinstance(estimator, CalibratedClassifierCV) and fast is not None
    rows = _rows(X, estimator.calibrated_classifiers_[0].estimator)
    expected = estimator.predict_proba(rows)[:, 1]
    assert np.abs(fast.probabilities(rows) - expected).max() < 1e-12
    complete = np.where(np.isnan(rows), 0.0, rows)  # chunks without a missing value take a shorter way
    assert np.abs(fast.probabilities(complete) - estimator.predict_proba(complete)[:, 1]).max() < 1e-12
    assert fast.probabilities(rows[:0]).shape == (0,)


def test_deeper_trees_with_missing_values_sent_either_way_are_compiled_exactly():
    X, y = _training(seed=2)
    boosting = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, random_state=0)
    estimator = CalibratedClassifierCV(boosting, method="sigmoid", cv=3, ensemble=False).fit(X, y)
    trees = estimator.calibrated_classifiers_[0].estimator._predictors
    directions = {bool(v) for (tree,) in trees for v in tree.nodes["missing_go_to_left"][tree.nodes["is_leaf"] == 0]}
    assert directions == {True, False}  # the rows below meet both kinds of split
    fast = compiled(estimator)
    assert fast is not None
    rows = _rows(X, estimator.calibrated_classifiers_[0].estimator, seed=3)
    assert np.abs(fast.probabilities(rows) - estimator.predict_proba(rows)[:, 1]).max() < 1e-12


@pytest.mark.parametrize(
    "make",
    [
        lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),  # not calibrated
        lambda: CalibratedClassifierCV(HistGradientBoostingClassifier(max_iter=20), method="isotonic", ensemble=False),
        lambda: CalibratedClassifierCV(HistGradientBoostingClassifier(max_iter=20), method="sigmoid", ensemble=True),
        lambda: LogisticRegression(),
    ],
    ids=["plain boosting", "isotonic calibration", "calibration ensemble", "logistic regression"],
)
def test_an_estimator_of_another_shape_is_left_to_scikit_learn_with_the_same_probabilities(make):
    X, y = _training(seed=4)
    X = np.nan_to_num(X)
    estimator = make().fit(X, y)
    assert compiled(estimator) is None
    names = list(FEATURES[:WIDTH])
    manifest = ModelManifest(version="other", sha256="x", features=names, baseline=dict.fromkeys(names, 0.0),
                             trained_at=datetime.now(UTC), trained_by="tests")  # fmt: skip
    model = RiskModel(manifest, estimator)
    assert np.array_equal(model.probabilities(X[:50]), estimator.predict_proba(X[:50])[:, 1])
