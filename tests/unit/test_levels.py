"""One decision of a household's level from the rules' verdict and the model's probability."""

from services.common.levels import decide_level, model_level
from services.common.policy import PolicyBook
from services.common.settings import REPO_ROOT

VALUES = PolicyBook.load(REPO_ROOT / "policy").for_region("532328101001", 2025).values  # cuts 0.3 and 0.7


def test_the_model_alone_raises_yellow_from_the_yellow_cut_and_red_from_the_red_cut():
    assert [model_level(p, VALUES) for p in (None, 0.29, 0.3, 0.69, 0.7)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "red",
    ]


def test_a_region_s_alert_budget_cut_replaces_the_fixed_yellow_cut_but_not_the_red_one():
    assert (
        model_level(0.12, VALUES, yellow_cut=0.1) == "yellow" and model_level(0.25, VALUES, yellow_cut=0.5) == "green"
    )
    assert model_level(0.75, VALUES, yellow_cut=0.9) == "red"


def test_the_household_s_level_is_the_higher_of_the_rules_and_the_model():
    assert decide_level("red", 0.1, VALUES) == "red"
    assert decide_level("green", 0.5, VALUES) == "yellow"
    assert decide_level("yellow", 0.8, VALUES) == "red"
    assert decide_level("green", None, VALUES) == "green"
