"""Levels: how urgent each is, and the one function that decides a household's level from the rules and the model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the policy's values are only read here; policy.py imports this module's words through risk_types
    from services.common.policy import PolicyValues

Level = Literal["red", "yellow", "green"]
LEVEL_RANK: dict[Level, int] = {"green": 0, "yellow": 1, "red": 2}  # the higher, the more urgent


def highest_level(levels: Iterable[Level]) -> Level:
    """The most urgent of `levels` (the first of equals); green when there are none."""
    return max(levels, key=LEVEL_RANK.__getitem__, default="green")


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
    return highest_level((rules_level, model_level(probability, values, yellow_cut)))
