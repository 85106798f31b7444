"""Policy rules: from a household's state and the policy in force to a level, reasons and a category."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.common.policy import Policy
from services.common.scores import Category, Figures, Level, Reason
from services.scoring.reasons import (
    disaster_economic_loss,
    disaster_house_damage,
    income_after_rigid_spending,
    income_below_line,
    income_drop,
    medical_burden,
    self_declared,
)
from services.scoring.state import HouseholdState, month_shift

RANK: dict[Level, int] = {"green": 0, "yellow": 1, "red": 2}
_LOW_INCOME_CATEGORIES = ("poverty_exited", "monitored")
_INCOME_REASONS = ("income_below_threshold", "income_after_rigid_spending_below_threshold")


@dataclass(frozen=True)
class Assessment:
    """The rules' verdict on one household."""

    level: Level
    reasons: list[Reason]
    figures: Figures
    proposed_category: Category | None

    def fingerprint(self) -> str:
        """What must change for a new score to be worth emitting."""
        codes = ",".join(f"{reason.code}:{reason.level}" for reason in self.reasons)
        f = self.figures
        return (
            f"{self.level}|{codes}|{f.income_12m:.2f}|{f.members}|{f.monitoring_line}|{f.medical_out_of_pocket_12m:.2f}"
        )


@lru_cache(maxsize=1024)
def window(end_month: str, months: int = 12) -> tuple[str, ...]:
    """The `months` months ending with `end_month`, newest first."""
    return tuple(month_shift(end_month, -offset) for offset in range(months))


def monthly_income(state: HouseholdState) -> dict[str, float]:
    """Reported net income per month, all sources added."""
    reported: dict[str, float] = {}
    for key, income in state.incomes.items():
        reported[key[:7]] = reported.get(key[:7], 0.0) + income.amount
    return reported


def household_figures(state: HouseholdState, policy: Policy) -> Figures | None:
    """12-month income (months without a report use the registered annual income) and rigid spending."""
    profile, end_month = state.profile, state.reference_month()
    if profile is None or end_month is None:
        return None
    reported, months = monthly_income(state), window(end_month)
    estimate = profile.annual_net_income / 12
    income_12m = round(sum(reported.get(month, estimate) for month in months), 2)
    first = months[-1]
    medical = round(sum(float(h.figures["out_of_pocket"]) for h in state.medical.values() if h.date[:7] >= first), 2)
    return Figures(
        members=profile.members,
        labourers=profile.labourers,
        income_12m=income_12m,
        per_capita_income=round(income_12m / profile.members, 2),
        months_reported=sum(month in reported for month in months),
        monitoring_line=float(policy.values.monitoring_line),
        medical_out_of_pocket_12m=medical,
        per_capita_after_rigid_spending=round((income_12m - medical) / profile.members, 2),
    )


def _proposed_category(state: HouseholdState, reasons: list[Reason]) -> Category | None:
    if not reasons or state.profile is None:
        return None
    if state.profile.category == "poverty_exited":
        return "unstable_exited"  # 脱贫不稳定户
    if any(reason.code in _INCOME_REASONS for reason in reasons):
        return "marginal"  # 边缘易致贫户
    return "sudden_hardship"  # 突发严重困难户


def assess(state: HouseholdState, policy: Policy) -> Assessment | None:
    """Apply every rule; None when the household is not registered yet."""
    figures = household_figures(state, policy)
    end_month = state.reference_month()
    if figures is None or state.profile is None or end_month is None:
        return None
    values, first_month = policy.values, window(end_month)[-1]
    recent = [h for h in state.disasters.values() if h.date[:7] >= first_month]
    low_income = state.profile.category in _LOW_INCOME_CATEGORIES
    candidates = [
        income_below_line(figures),
        income_after_rigid_spending(figures),
        income_drop(monthly_income(state), end_month, state.profile.annual_net_income, values),
        medical_burden(figures, low_income, values),
        disaster_house_damage(recent),
        disaster_economic_loss(recent, figures, values),
        self_declared([h for h in state.applications.values() if h.date[:7] >= first_month]),
    ]
    reasons = [reason for reason in candidates if reason is not None]
    level: Level = max((reason.level for reason in reasons), key=RANK.__getitem__, default="green")
    return Assessment(level, reasons, figures, _proposed_category(state, reasons))
