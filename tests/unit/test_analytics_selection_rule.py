"""Model choice: a more complex candidate is served only when its validation lead is larger than the noise."""

from datetime import date

import numpy as np

from services.analytics.evaluation import validation_auc
from services.analytics.selection import Candidate, simplest_within_noise
from services.analytics.training_set import TrainingSet
from services.scoring.features import FEATURES

SIMPLE = Candidate("simple", "logistic", {"C": 1.0})
COMPLEX = Candidate("complex", "boosting", {})


def _validation(rows: int, seed: int) -> TrainingSet:
    rng = np.random.default_rng(seed)
    return TrainingSet(
        np.zeros((rows, len(FEATURES))), rng.random(rows) < 0.2, np.zeros(rows, int), np.full(rows, "532328", object),
        np.asarray([f"h{i}" for i in range(rows)], object), np.zeros(rows, int), np.zeros(rows, int),
        np.zeros((rows, 2)), [date(2025, 12, 31)],
    )  # fmt: skip


def _noisy(ts: TrainingSet, noise: float, seed: int) -> np.ndarray:
    return ts.y + np.random.default_rng(seed).normal(0, noise, len(ts))


def test_a_lead_within_the_validation_s_noise_keeps_the_simpler_candidate():
    ts = _validation(1500, 1)
    simple, complex_ = _noisy(ts, 1.0, 3), _noisy(ts, 1.0, 8)
    lead = validation_auc(ts, complex_) - validation_auc(ts, simple)
    assert 0 < lead < 0.02  # the complex one is ahead by chance: both carry the same signal
    choice = simplest_within_noise(ts, [(SIMPLE, simple), (COMPLEX, complex_)])
    assert choice.candidate == SIMPLE and choice.best == "complex"
    assert choice.standard_errors["simple"] > lead and choice.standard_errors["complex"] == 0
    assert np.array_equal(choice.probabilities, simple)


def test_a_clear_lead_chooses_the_more_complex_candidate():
    ts = _validation(1500, 1)
    simple, complex_ = _noisy(ts, 1.0, 2), _noisy(ts, 0.4, 3)
    choice = simplest_within_noise(ts, [(SIMPLE, simple), (COMPLEX, complex_)])
    assert choice.candidate == COMPLEX and choice.best == "complex"
    assert validation_auc(ts, complex_) - validation_auc(ts, simple) > 3 * choice.standard_errors["simple"]
