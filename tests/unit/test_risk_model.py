from datetime import UTC, datetime

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from services.common.model_activation import Activation
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.features import FEATURES
from services.scoring.model import ModelRegistry, UnverifiedModel, features_read
from services.scoring.scorer import score_event
from services.scoring.state import HouseholdState
from tests.factories import cloud_event, registration
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


def reference_drivers(model, rows, top=3):
    """Attributions the slow way: every feature of every row set to its typical value, one at a time."""
    names, baseline = model.manifest.features, model.manifest.baseline
    out = []
    for row in rows:
        probability = model.probabilities(row[None, :])[0]
        effects = []
        for j, name in enumerate(names):
            variant = row.copy()
            variant[j] = baseline[name]
            effects.append(probability - model.probabilities(variant[None, :])[0])
        order = sorted(range(len(names)), key=lambda j: -effects[j])[:top]
        out.append([(names[j], effects[j]) for j in order if effects[j] > 0])
    return out


def test_attributions_equal_setting_every_feature_to_its_typical_value_one_at_a_time(model):
    rng = np.random.default_rng(3)
    rows = rng.uniform(0, 3, size=(40, len(model.manifest.features)))
    typical = np.asarray([model.manifest.baseline[name] for name in model.manifest.features])
    rows[::2, 4:12] = typical[4:12]  # half the rows hold most features at their typical value already
    found = model.drivers(rows, model.probabilities(rows))
    expected = reference_drivers(model, rows)
    assert [[name for name, _ in row] for row in found] == [[name for name, _ in row] for row in expected]
    assert np.allclose([e for row in found for _, e in row], [e for row in expected for _, e in row], atol=1e-12)
    assert any(found)


def test_only_features_the_model_splits_on_are_read_and_a_linear_model_reads_them_all():
    rng = np.random.default_rng(5)
    X = rng.uniform(size=(600, 4))
    X[:, 2] = 1.0  # constant: no tree can split on it
    y = (X[:, 0] + 0.2 * rng.uniform(size=600) > 0.6).astype(int)
    boosting = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    assert features_read(CalibratedClassifierCV(boosting, cv=3, ensemble=False).fit(X, y), 4).tolist()[2] is False
    linear = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert features_read(linear, 4).all()


@pytest.fixture(scope="module")
def rigid_model(tmp_path_factory):
    """A model that reads only income after rigid spending: below 1.3 times the line, at risk."""
    rows, column = np.zeros((2000, len(FEATURES))), FEATURES.index("after_rigid_to_line")
    rows[:, column] = np.random.default_rng(7).uniform(0.0, 3.0, size=2000)  # every other feature constant: unread
    labels = (rows[:, column] < 1.3).astype(int)
    estimator = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(rows, labels)
    baseline = dict(zip(FEATURES, np.median(rows, axis=0).tolist(), strict=True))
    folder = tmp_path_factory.mktemp("rigid")
    manifest = ModelRegistry(folder).save(estimator, baseline, version="rigid", trained_at=NOW, trained_by="tests",
                                          metrics={"roc_auc": 0.9})  # fmt: skip
    return ModelRegistry(folder).load(activation(manifest))


def bill(household_id: str, out_of_pocket: float) -> dict:
    data = {"household_id": household_id, "date": "2025-05-10", "total_cost": out_of_pocket * 2,
            "out_of_pocket": out_of_pocket}  # fmt: skip
    return cloud_event("medical.expense.incurred", data)


def test_the_model_names_illness_for_low_income_after_rigid_spending_only_where_the_household_paid_medical_costs(
    rigid_model,
):
    state, alone = score_event(HouseholdState(), validate_event(registration("H", 10000 * 2, members=2), b"k"),
                               POLICIES, NOW, rigid_model)  # fmt: skip  # 10,000 a person: above the 8,700 line
    assert alone is not None and [r.code for r in alone.reasons] == ["model_risk"]
    assert alone.reasons[0].evidence["drivers"].split(",")[0] == "after_rigid_to_line"
    assert [(p.risk_type, p.evidence) for p in alone.risk_type_proposals] == [("other", "model_risk")]
    _, paid = score_event(state, validate_event(bill("H", 800), b"k"), POLICIES, NOW, rigid_model)
    assert paid is not None and [r.code for r in paid.reasons] == ["model_risk"]  # the rules still see no risk
    assert paid.risk_type_proposals[0].risk_type == "illness"
    assert paid.risk_type_proposals[0].evidence == "driver:after_rigid_to_line"
