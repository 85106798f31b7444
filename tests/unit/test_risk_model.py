from datetime import UTC, datetime

import pytest

from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.model import Activation, ModelRegistry, UnverifiedModel
from services.scoring.service import score_event
from services.scoring.state import HouseholdState
from tests.factories import registration
from tests.models import train_toy_model

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def activation(manifest, sha256=None):
    return Activation(version=manifest.version, sha256=sha256 or manifest.sha256, activated_by="t", activated_at=NOW)


def test_a_registered_model_loads_only_with_the_checksum_it_was_registered_with(tmp_path):
    manifest = train_toy_model(tmp_path, "m1")
    registry = ModelRegistry(tmp_path)
    assert registry.load(activation(manifest)).manifest.version == "m1"
    assert [m.version for m in registry.versions()] == ["m1"]
    with pytest.raises(UnverifiedModel, match="checksum"):
        registry.load(activation(manifest, sha256="0" * 64))
    (tmp_path / "m1" / "model.joblib").write_bytes(b"not the model that was trained")
    with pytest.raises(UnverifiedModel):  # a tampered artefact is never unpickled
        registry.load(activation(manifest))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return ModelRegistry(folder).load(activation(train_toy_model(folder, "m1")))


def scored(raw, model):
    return score_event(HouseholdState(), validate_event(raw, b"k"), POLICIES, NOW, model)[1]


def test_the_model_adds_model_risk_naming_its_strongest_features(model):
    score = scored(registration("H", 10000 * 2, members=2), model)  # 10,000 per person: just above 8,700
    assert score.level == "red" and score.model_version == "m1" and score.scoring_mode == "rules_and_model"
    reason = {r.code: r for r in score.reasons}["model_risk"]
    assert score.probability >= 0.7 and reason.level == "red"
    assert "income per person against the line" in reason.message_en and "人均收入与监测线之比" in reason.message_zh
    assert reason.evidence["drivers"].split(",")[0] == "income_to_line"


def test_a_household_the_model_finds_safe_gets_no_model_reason(model):
    score = scored(registration("H", 60000 * 2, members=2), model)
    assert score.level == "green" and score.reasons == [] and score.probability < 0.3


def test_without_an_active_model_scoring_is_rules_only_and_says_so():
    score = scored(registration("H", 10000 * 2, members=2), None)
    assert (score.level, score.scoring_mode, score.model_version, score.probability) == (
        "green",
        "rules_only",
        None,
        None,
    )
