"""The bootstrap's NumPy ranking metrics give scikit-learn's values, ties and weights included."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from services.analytics.ranking import average_precision, roc_auc


@pytest.mark.parametrize("seed", range(20))
def test_weighted_auc_and_average_precision_equal_scikit_learn_s_on_scores_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = rng.random(n) < rng.uniform(0.05, 0.6)
    y[:2] = [True, False]
    score = rng.integers(0, 8, n).astype(float) if seed % 2 else rng.random(n)  # levels with many ties, or not
    weight = rng.integers(1, 4, n).astype(float)
    assert roc_auc(y, score, weight) == pytest.approx(roc_auc_score(y, score, sample_weight=weight), abs=1e-12)
    expected = average_precision_score(y, score, sample_weight=weight)
    assert average_precision(y, score, weight) == pytest.approx(expected, abs=1e-12)


def test_a_perfect_ranking_scores_one_and_a_reversed_one_zero():
    y = np.array([True, True, False, False])
    weight = np.ones(4)
    assert roc_auc(y, np.array([4.0, 3, 2, 1]), weight) == 1.0
    assert roc_auc(y, np.array([1.0, 2, 3, 4]), weight) == 0.0
    assert average_precision(y, np.array([4.0, 3, 2, 1]), weight) == 1.0
