"""Model features of a household, computed the same way for training and in the stream."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import repeat

import numpy as np

from services.common.months import month_shift, window
from services.common.policy import EXITED_HOUSEHOLD, Policy
from services.scoring.rules import Standing, standing
from services.scoring.state import HouseholdState

# Feature name → (zh-CN, English) words a township worker understands.
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "income_to_line": ("人均收入与监测线之比", "income per person against the line"),
    "after_rigid_to_line": ("扣除医疗支出后人均收入与监测线之比", "income after medical costs against the line"),
    "income_trend_3m": ("近3个月收入变化", "income trend of the last 3 months"),
    "months_reported": ("有申报收入的月数", "months with reported income"),
    "medical_to_line": ("医疗自付与监测线之比", "medical costs against the line"),
    "labour_share": ("劳动力占比", "share of household members who can work"),
    "disabled_share": ("残疾人占比", "share of disabled members"),
    "chronic_share": ("慢性病人占比", "share of chronically ill members"),
    "students": ("在校学生人数", "number of students"),
    "members": ("家庭人口", "household size"),
    "disaster_loss_to_income": ("灾害损失与年收入之比", "disaster losses against yearly income"),
    "house_or_water_unsafe": ("住房或饮水不安全", "unsafe housing or drinking water"),
    "applications_12m": ("近12个月自主申报次数", "own applications in 12 months"),
    "exited_household": ("脱贫户", "household that left poverty"),
    "year_before_to_line": ("上一年人均收入与监测线之比", "income per person in the year before, against the line"),
    "income_change_12m": ("近12个月收入比上一年变化", "change of the 12-month income against the year before"),
    "dependants_per_labourer": ("每个劳动力负担人数", "dependants per household member who can work"),
    "inpatient_12m": ("近12个月住院次数", "hospital stays in 12 months"),
    "shocks_12m": ("近12个月受灾次数", "disasters in 12 months"),
    "shocks_24m": ("近24个月受灾次数", "disasters in 24 months"),
}
FEATURES: tuple[str, ...] = tuple(FEATURE_WORDS)


def _trend(reported: dict[str, float], end_month: str) -> float:
    if not reported:
        return 0.0  # nothing reported: no trend (as the sums below would say)
    get, months = reported.get, window(end_month, 6)
    recent = 0.0 + get(months[0], 0.0) + get(months[1], 0.0) + get(months[2], 0.0)  # summed as sum() would
    before = 0.0 + get(months[3], 0.0) + get(months[4], 0.0) + get(months[5], 0.0)
    return (recent - before) / before if before > 0 else 0.0


def _year_before(found: Standing, end_month: str, estimate: float) -> float:
    """Income of the 12 months before the current window (months without a report: the registered estimate)."""
    if not found.reported:
        return sum(repeat(estimate, 12))  # the same additions as below, without looking a month up
    return sum(map(found.reported.get, window(month_shift(end_month, -12)), repeat(estimate)))


def _hospital_stays(state: HouseholdState, first: str) -> float:
    """Inpatient bills dated in the window (from month `first`)."""
    if not state.medical:
        return 0.0
    return float(sum(1 for bill in state.medical.values() if bill.date[:7] >= first and bill.figures.get("inpatient")))


def _applications(state: HouseholdState, first: str) -> float:
    """The household's own applications dated in the window (from month `first`)."""
    return float(sum(1 for h in state.applications.values() if h.date[:7] >= first)) if state.applications else 0.0


def feature_values(state: HouseholdState, policy: Policy, known: Standing | None = None) -> tuple[float, ...] | None:
    """The features of a registered household at its latest event, in `FEATURES` order; None before registration."""
    found, profile, end_month = known or standing(state, policy), state.profile, state.latest_month
    if found is None or profile is None or end_month is None:
        return None
    figures = found.figures
    line, members, first = figures.monitoring_line, profile.members, found.months[-1]
    earlier = month_shift(first, -12)
    losses = shocks = shocks_24m = 0.0
    for disaster in state.disasters.values():
        if disaster.date[:7] >= earlier:
            shocks_24m += 1
            if disaster.date[:7] >= first:
                shocks, losses = shocks + 1, losses + float(disaster.figures.get("economic_loss", 0))
    before = _year_before(found, end_month, profile.annual_net_income / 12)
    income_12m = figures.income_12m
    return (
        figures.per_capita_income / line,
        (figures.per_capita_after_rigid_spending or 0.0) / line,
        _trend(found.reported, end_month),
        float(figures.months_reported),
        figures.medical_out_of_pocket_12m / (line * members),
        profile.labourers / members,
        profile.disabled_members / members,
        profile.chronic_ill_members / members,
        float(profile.students),
        float(members),
        losses / income_12m if income_12m > 0 else 0.0,
        float(not (profile.housing_safe and profile.water_safe)),
        _applications(state, first),
        float(profile.category == EXITED_HOUSEHOLD),
        before / members / line,
        (income_12m - before) / before if before > 0 else 0.0,
        (members - profile.labourers) / max(profile.labourers, 1),
        _hospital_stays(state, first),
        shocks,
        shocks_24m,
    )


def household_features(state: HouseholdState, policy: Policy, known: Standing | None = None) -> dict[str, float] | None:
    """The feature vector of a registered household at its latest event, by name; None before registration."""
    values = feature_values(state, policy, known)
    return None if values is None else named(values)


def named(values: Sequence[float]) -> dict[str, float]:
    """A feature vector in `FEATURES` order, by name."""
    return dict(zip(FEATURES, values, strict=True))


def feature_matrix(rows: list[dict[str, float]], names: Sequence[str] = FEATURES) -> np.ndarray:
    """Feature vectors as a matrix with columns `names` (a model's own order; default every feature)."""
    return np.array([[row[name] for name in names] for row in rows], dtype=np.float64).reshape(-1, len(names))


def values_matrix(rows: list[tuple[float, ...]], names: Sequence[str] = FEATURES) -> np.ndarray:
    """`feature_values` rows as a matrix with columns `names` (a model's own order; default every feature)."""
    matrix = np.array(rows, dtype=np.float64).reshape(-1, len(FEATURES))
    columns = _columns(tuple(names))
    return matrix if columns is None else matrix[:, columns]


@lru_cache(maxsize=64)
def _columns(names: tuple[str, ...]) -> list[int] | None:
    """Where each of `names` sits in `FEATURES`; None when they are `FEATURES` itself."""
    return None if names == FEATURES else [FEATURES.index(name) for name in names]
