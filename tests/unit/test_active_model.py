"""A scoring worker keeps the model it has when an activation names one it cannot load, and goes on scoring."""

from datetime import UTC, datetime
from typing import Literal

from services.common.model_activation import Activation
from services.scoring.activations import ActiveModel
from services.scoring.model import ModelRegistry
from tests.models import train_toy_model


def activation(version: str | None, sha256: str | None, role: Literal["active", "shadow"] = "active") -> Activation:
    return Activation(version=version, sha256=sha256, activated_by="t", activated_at=datetime.now(UTC), role=role)


def test_an_activation_of_a_version_missing_from_model_dir_changes_nothing(tmp_path):
    manifest = train_toy_model(tmp_path, "here")
    model = ActiveModel(ModelRegistry(tmp_path))
    model._apply(activation("here", manifest.sha256))
    model._apply(activation("elsewhere", "0" * 64))  # registered in another MODEL_DIR (the API's), not this worker's
    model._apply(activation("elsewhere", "0" * 64, role="shadow"))
    assert model.version == "here" and model.shadow is None
    model._apply(activation(None, None))  # rules only still applies
    assert model.version is None
