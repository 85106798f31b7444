"""Levels: the one place that decides a household's level from the rules' verdict and the model's probability."""

from __future__ import annotations

from services.common.policy import PolicyValues
from services.common.scores import Level

RANK: dict[Level, int] = {"green": 0, "yellow": 1, "red": 2}


def model_level(probability: float | None, values: PolicyValues, yellow_cut: float | None = None) -> Level:
    """The level a model's probability gives on its own: red from the policy's red cut, yellow from the yellow cut
    (`yellow_cut`: the model's cut for the region's alert budget, else the policy's fixed cut)."""
    yellow = float(values.model_yellow_probability) if yellow_cut is None else yellow_cut
    if probability is None:
        return "green"
    if probability >= float(values.model_red_probability):
        return "red"
    return "yellow" if probability >= yellow else "green"


def decide_level(
    rules_level: Level, probability: float | None, values: PolicyValues, yellow_cut: float | None = None
) -> Level:
    """A household's level: the higher of what the rules say and what the model's probability says."""
    return max(rules_level, model_level(probability, values, yellow_cut), key=RANK.__getitem__)
