"""A small risk model trained on synthetic feature rows, for tests of the model machinery."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from services.analytics.monitoring import reference
from services.scoring.features import FEATURES
from services.scoring.model import ModelManifest, ModelRegistry
from tests.infra import Stack


def synthetic_rows(n: int, seed: int = 1) -> tuple[list[list[float]], list[int]]:
    """Feature rows where low income and high medical costs mean falling below the line."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        row = {name: rng.random() for name in FEATURES}
        row["income_to_line"] = rng.uniform(0.5, 3.0)
        row["medical_to_line"] = rng.uniform(0.0, 1.0)
        risk = row["income_to_line"] < 1.3 or row["medical_to_line"] > 0.8
        rows.append([row[name] for name in FEATURES])
        labels.append(int(risk))
    return rows, labels


def train_toy_model(folder: Path, version: str, with_reference: bool = True) -> ModelManifest:
    """Train, register and return the manifest of a toy model (with the drift reference of its training rows)."""
    rows, labels = synthetic_rows(2000)
    estimator = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(rows, labels)
    baseline = {name: sorted(row[i] for row in rows)[len(rows) // 2] for i, name in enumerate(FEATURES)}
    matrix = np.asarray(rows)
    found = reference(matrix, FEATURES, estimator.predict_proba(matrix)[:, 1]) if with_reference else {}
    return ModelRegistry(folder).save(
        estimator, baseline, version=version, trained_at=datetime.now(UTC), trained_by="tests",
        metrics={"roc_auc": 0.9}, reference=found,
    )  # fmt: skip


def applied_by_scoring(stack: Stack, activate: Callable[[], object], by: str) -> None:
    """Run `activate` (an activation or shadow change made by `by`), then wait until the scoring worker has applied
    or refused it (its log says so), so that the next event is scored as the test expects."""
    offset = stack.log_size("scoring")
    activate()
    stack.wait_for_log("scoring", f"by {by})", offset, seconds=60)
