"""An alert budget per region ("yellow = the top X % by probability") reaches the stream as the model's recorded cut."""

import shutil
from datetime import UTC, datetime
from pathlib import Path

from services.common.levels import decide_level
from services.common.model_activation import Activation
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.facts import fact_of
from services.scoring.model import ModelRegistry, RiskModel
from services.scoring.scorer import Changed, score_changed
from services.scoring.state import HouseholdState, apply_event
from tests.factories import registration
from tests.models import train_toy_model

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _policies(tmp_path: Path) -> PolicyBook:
    folder = tmp_path / "policy"
    shutil.copytree(REPO_ROOT / "policy", folder)
    with (folder / "2025.toml").open("a", encoding="utf-8") as handle:
        # 532328's red cut lies above the toy model's probabilities (near 1): there the budget's cut alone decides
        handle.write(
            '\n[regions."532328"]\nmodel_yellow_budget = 0.10\nmodel_red_probability = 0.9999\n\n'
            '[regions."532323"]\nmodel_yellow_budget = 0.20\n'
        )
    return PolicyBook.load(folder)


def _model(tmp_path: Path, cuts: dict[str, float]) -> RiskModel:
    manifest = train_toy_model(tmp_path / "models", "budget-1")
    activation = Activation(version="budget-1", sha256=manifest.sha256, activated_by="t", activated_at=NOW)
    loaded = ModelRegistry(tmp_path / "models").load(activation)
    assert loaded is not None
    return RiskModel(loaded.manifest.model_copy(update={"budget_cuts": cuts}), loaded._estimator)


def _score(region: str, policies: PolicyBook, model: RiskModel):
    event = validate_event(registration("B1", 10500 * 2, members=2, region_code=region), b"k")
    state = apply_event(HouseholdState(), event)
    return score_changed([Changed("B1", state, fact_of(event))], policies, NOW, model)[0].score


def test_a_regions_budget_becomes_the_models_recorded_cut_and_other_regions_keep_the_fixed_cut(tmp_path: Path):
    policies = _policies(tmp_path)
    probe = _score("532328101001", policies, _model(tmp_path / "probe", {}))
    p = probe.probability
    assert p is not None and 0.3 < p < 1  # above the fixed cut: the fixed cut alone would raise model_risk
    above, below = p + (1 - p) / 2, p / 2
    model = _model(tmp_path, {"0.05": 1.0, "0.10": above, "0.20": below, "0.30": 0.0})
    strict = _score("532328101001", policies, model)  # top 10 %: the cut is just above this household
    loose = _score("532323101001", policies, model)  # top 20 %: just below
    fixed = _score("532301101001", policies, model)  # no budget in its policy: the fixed 0.3 applies
    assert "model_risk" not in {r.code for r in strict.reasons}
    assert "model_risk" in {r.code for r in loose.reasons} and "model_risk" in {r.code for r in fixed.reasons}
    assert model.yellow_cut(policies.for_region("532328101001", 2025).values) == above
    halfway = policies.for_region("532323101001", 2025).values.model_copy(update={"model_yellow_budget": 0.15})
    assert abs(model.yellow_cut(halfway) - (above + below) / 2) < 1e-9  # between recorded budgets: interpolated


def test_a_probability_from_the_red_cut_raises_red_even_where_the_budget_s_cut_lies_higher(tmp_path: Path):
    policies = _policies(tmp_path)
    p = _score("532323101001", policies, _model(tmp_path / "probe", {})).probability
    values = policies.for_region("532323101001", 2025).values
    assert p is not None and float(values.model_red_probability) <= p < 1
    above = p + (1 - p) / 2
    model = _model(tmp_path, {"0.10": 1.0, "0.20": above, "0.30": 0.0})  # the region's 20 % budget: a cut above it
    score = _score("532323101001", policies, model)
    assert model.yellow_cut(values) == above
    assert score.level == decide_level("green", p, values, above) == "red"
    assert [(r.code, r.level) for r in score.reasons] == [("model_risk", "red")]
