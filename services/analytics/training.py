"""Training: calibrated gradient boosting on earlier cut-offs, validated on later ones, registered as a version."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from services.analytics.evaluation import Evaluation, evaluate, evaluate_rules
from services.analytics.training_set import TrainingSet
from services.scoring.features import FEATURES
from services.scoring.model import ModelManifest, ModelRegistry, RiskModel


def estimator(max_iter: int = 200) -> CalibratedClassifierCV:
    """The model: histogram gradient boosting, isotonic-calibrated with 3-fold cross-validation."""
    boosting = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=0.08, max_leaf_nodes=31, l2_regularization=1.0, random_state=0
    )
    return CalibratedClassifierCV(Pipeline([("boosting", boosting)]), method="isotonic", cv=3)


def split(ts: TrainingSet, validation_cutoffs: int = 3) -> tuple[TrainingSet, TrainingSet]:
    """Out of time: train on every cut-off but the last `validation_cutoffs`, validate on those."""
    boundary = len(ts.cutoffs) - validation_cutoffs
    return ts.subset(ts.cutoff < boundary), ts.subset(ts.cutoff >= boundary)


@dataclass
class Trained:
    """A fitted model and its out-of-time evaluation next to rules only (and the active model, if any)."""

    estimator: Any
    baseline: dict[str, float]
    train: TrainingSet
    validation: TrainingSet
    evaluations: list[Evaluation]
    seconds: float

    @property
    def model(self) -> Evaluation:
        """The new model's evaluation."""
        return self.evaluations[0]

    def data_window(self) -> str:
        """Cut-offs used: training ones, then validation ones."""
        train = sorted({self.train.cutoffs[c] for c in np.unique(self.train.cutoff)})
        valid = sorted({self.validation.cutoffs[c] for c in np.unique(self.validation.cutoff)})
        return f"train {train[0]}..{train[-1]}, validate {valid[0]}..{valid[-1]} (cut-offs at month ends)"


def train(
    ts: TrainingSet, validation_cutoffs: int = 3, active: RiskModel | None = None, max_iter: int = 200
) -> Trained:
    """Fit on the earlier cut-offs and evaluate on the later ones."""
    training, validation = split(ts, validation_cutoffs)
    if training.y.sum() == 0 or validation.y.sum() == 0:
        raise ValueError("the history has no household falling below the line in the training or validation window")
    started = time.perf_counter()
    fitted = estimator(max_iter).fit(training.X, training.y)
    seconds = time.perf_counter() - started
    baseline = {name: float(np.median(training.X[:, i])) for i, name in enumerate(FEATURES)}
    evaluations = [evaluate("model", validation, fitted.predict_proba(validation.X)[:, 1]), evaluate_rules(validation)]
    if active is not None:
        score = active._estimator.predict_proba(validation.X)[:, 1]
        evaluations.append(evaluate(f"active model {active.manifest.version}", validation, score))
    return Trained(fitted, baseline, training, validation, evaluations, seconds)


def register(trained: Trained, folder: Path, trained_by: str, version: str | None = None) -> ModelManifest:
    """Save the model as a new registry version with its metrics, data window and policy version."""
    now = datetime.now(UTC)
    keep = ("roc_auc", "pr_auc", "brier", "recall_at_10pct", "precision_at_10pct", "median_lead_days_at_10pct")
    metrics = {key: round(trained.model.metrics[key], 4) for key in keep}
    rules = trained.evaluations[1].metrics
    metrics |= {"rules_recall_at_10pct": round(rules["recall_at_10pct"], 4), "training_rows": float(len(trained.train))}
    return ModelRegistry(folder).save(
        trained.estimator,
        trained.baseline,
        version=version or f"risk-{now:%Y%m%d-%H%M%S}",
        trained_at=now,
        trained_by=trained_by,
        policy_version=",".join(sorted(trained.train.policy_versions)) or None,
        data_window=trained.data_window(),
        metrics=metrics,
    )
