"""The risk model: a registry of checksummed artefacts, verified loading, and scoring with attributions."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
from pydantic import BaseModel, Field

from services.common.model_activation import Activation
from services.common.policy import PolicyValues
from services.scoring.compiled_trees import compiled
from services.scoring.features import FEATURES


class UnverifiedModel(ValueError):
    """The artefact's checksum does not match what was registered and activated: it is not loaded."""


class NotRegistered(KeyError):
    """A version the registry folder does not hold; the message names the version and the folder."""

    def __str__(self) -> str:
        return str(self.args[0])


class ModelManifest(BaseModel):
    """What the registry knows about one model version."""

    version: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    sha256: str
    features: list[str]
    baseline: dict[str, float]  # typical feature values (training medians), the reference for attributions
    trained_at: datetime
    trained_by: str
    policy_version: str | None = None
    data_window: str | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    # Optional since issue 12: what the label means, how the model was chosen and validated, and what it costs.
    horizon_months: int = 12
    labels_until: date | None = None  # the latest outcome date the training labels used
    model_kind: str | None = None  # the chosen candidate, in words
    validation: dict[str, Any] = Field(default_factory=dict)  # honest figures next to baselines, with intervals
    selection: dict[str, Any] = Field(default_factory=dict)  # every candidate's validation figure
    budget_cuts: dict[str, float] = Field(default_factory=dict)  # alert budget share → the probability cut it means
    # Since issue 28: the training rows' bins of every feature and of the score, the reference of drift monitoring.
    reference: dict[str, Any] = Field(default_factory=dict)


class RiskModel:
    """A loaded, verified model: probability of falling below the line within 12 months, and why."""

    def __init__(self, manifest: ModelManifest, estimator: Any):
        self.manifest = manifest
        self._estimator = estimator
        self._budgets = tuple(sorted((float(share), cut) for share, cut in manifest.budget_cuts.items()))
        self._baseline = np.asarray([manifest.baseline[name] for name in manifest.features], dtype=float)
        self._read = features_read(estimator, len(manifest.features))
        self._edges = _edges(manifest)
        self._compiled = compiled(estimator)  # the same probabilities, without scikit-learn's cost per tree

    def reference_edges(self) -> tuple[list[np.ndarray], np.ndarray] | None:
        """The bin edges of each feature (the manifest's order) and of the score; None for a model without them."""
        return self._edges

    def yellow_cut(self, values: PolicyValues) -> float:
        """The probability from which the model raises yellow: the alert budget as a cut, else the fixed cut."""
        budget = values.model_yellow_budget
        if budget is None or not self._budgets:
            return float(values.model_yellow_probability)
        return _cut_for(self._budgets, float(budget))

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """Probability of each row (features in the manifest's order), in one vectorised call."""
        if len(rows) == 0:
            return np.empty(0)
        if self._compiled is not None:
            return self._compiled.probabilities(rows)
        return np.asarray(self._estimator.predict_proba(rows)[:, 1], dtype=float)

    def drivers(self, rows: np.ndarray, probabilities: np.ndarray, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per row, the features that raise its probability most (the drop when each is set to its typical value).

        Only features the model reads and the row does not already hold at their typical value can move the
        probability, so only those variants are predicted (one call for all rows); the others' effect is zero.
        """
        names = self.manifest.features
        count = len(rows)
        if count == 0:
            return []
        row_of, column = np.nonzero((rows != self._baseline) & self._read)
        variants = rows[row_of]
        variants[np.arange(len(row_of)), column] = self._baseline[column]
        effects = np.zeros(rows.shape)
        effects[row_of, column] = probabilities[row_of] - self.probabilities(variants)
        out = []
        for row in effects:
            order = np.argsort(-row, kind="stable")[:top]
            out.append([(names[j], float(row[j])) for j in order if row[j] > 0])
        return out

    def assess(self, features: dict[str, float], top: int = 3) -> tuple[float, list[tuple[str, float]]]:
        """Probability of one household, and the features that raise it most."""
        row = np.asarray([[features[name] for name in self.manifest.features]], dtype=float)
        probability = self.probabilities(row)
        return float(probability[0]), self.drivers(row, probability, top)[0]


def _edges(manifest: ModelManifest) -> tuple[list[np.ndarray], np.ndarray] | None:
    found = manifest.reference
    if not found or any(name not in found.get("features", {}) for name in manifest.features):
        return None
    features = [np.asarray(found["features"][name]["edges"], dtype=float) for name in manifest.features]
    return features, np.asarray(found["score"]["edges"], dtype=float)


def features_read(estimator: Any, width: int) -> np.ndarray:
    """Which of the `width` input columns the fitted estimator's prediction can depend on (all, unless known)."""
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated is not None:
        return np.logical_or.reduce([features_read(c.estimator, width) for c in calibrated])
    trees = getattr(estimator, "_predictors", None)  # histogram gradient boosting: the features its splits test
    if trees is None:
        return np.ones(width, dtype=bool)
    read = np.zeros(width, dtype=bool)
    for iteration in trees:
        for tree in iteration:
            read[tree.nodes["feature_idx"][~tree.nodes["is_leaf"].astype(bool)]] = True
    return read


@lru_cache(maxsize=256)
def _cut_for(budgets: tuple[tuple[float, float], ...], share: float) -> float:
    """The probability cut for an alert budget `share`, interpolated between the recorded budgets."""
    shares, cuts = zip(*budgets, strict=True)
    return float(np.interp(share, shares, cuts))


class ModelRegistry:
    """Model versions in a folder: `<version>/model.joblib` and `<version>/manifest.json`."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(
        self, estimator: Any, baseline: dict[str, float], features: list[str] | None = None, **details: Any
    ) -> ModelManifest:
        """Store a trained estimator (columns `features`, default all) as a new version; returns its manifest."""
        buffer = io.BytesIO()
        joblib.dump(estimator, buffer)
        blob = buffer.getvalue()
        manifest = ModelManifest(
            sha256=hashlib.sha256(blob).hexdigest(), features=features or list(FEATURES), baseline=baseline, **details
        )
        target = self.folder / manifest.version
        target.mkdir(parents=True, exist_ok=False)
        (target / "model.joblib").write_bytes(blob)
        (target / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        return manifest

    def manifest(self, version: str) -> ModelManifest:
        """The manifest of one version (NotRegistered when the folder does not hold it)."""
        path = self.folder / version / "manifest.json"
        if not path.is_file():
            raise NotRegistered(f"model {version} is not registered in MODEL_DIR ({self.folder})")
        return ModelManifest.model_validate_json(path.read_text(encoding="utf-8"))

    def versions(self) -> list[ModelManifest]:
        """Every registered version, oldest first."""
        manifests = [self.manifest(path.parent.name) for path in self.folder.glob("*/manifest.json")]
        return sorted(manifests, key=lambda m: m.trained_at)

    def load(self, activation: Activation) -> RiskModel | None:
        """Load the activated version after checking its bytes against the activation and the manifest."""
        if activation.version is None:
            return None
        manifest = self.manifest(activation.version)
        blob = (self.folder / activation.version / "model.joblib").read_bytes()
        digest = hashlib.sha256(blob).hexdigest()
        if not (digest == manifest.sha256 == activation.sha256):
            raise UnverifiedModel(f"model {activation.version}: checksum {digest[:12]}… does not match the registry")
        if not set(manifest.features) <= set(FEATURES):
            unknown = sorted(set(manifest.features) - set(FEATURES))
            raise UnverifiedModel(f"model {activation.version} needs features scoring does not compute: {unknown}")
        return RiskModel(manifest, joblib.load(io.BytesIO(blob)))


def activation_message(
    manifest: ModelManifest | None, activated_by: str, at: datetime, role: Literal["active", "shadow"] = "active"
) -> bytes:
    """The message that activates `manifest` (None: back to rules only, or no shadow) on `models.activations`."""
    activation = Activation(
        version=manifest.version if manifest else None,
        sha256=manifest.sha256 if manifest else None,
        activated_by=activated_by,
        activated_at=at,
        role=role,
    )
    return json.dumps(activation.model_dump(mode="json")).encode()
