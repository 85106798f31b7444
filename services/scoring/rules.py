"""Policy rules: from a household's state and the policy in force to a level and its reasons."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.policy import Policy
from services.common.scores import Figures, Level, Reason
from services.scoring.state import HouseholdState


@dataclass(frozen=True)
class Assessment:
    """The rules' verdict on one household."""

    level: Level
    reasons: list[Reason]
    figures: Figures

    def fingerprint(self) -> str:
        """What must change for a new score to be worth emitting."""
        codes = ",".join(reason.code for reason in self.reasons)
        return (
            f"{self.level}|{codes}|{self.figures.income_12m:.2f}|{self.figures.members}|{self.figures.monitoring_line}"
        )


def _window(end_month: str) -> list[str]:
    year, month = (int(part) for part in end_month.split("-"))
    months = []
    for _ in range(12):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


def household_figures(state: HouseholdState, policy: Policy) -> Figures | None:
    """12-month net income and per-person income; months without a report use the registered annual income."""
    profile, end_month = state.profile, state.reference_month()
    if profile is None or end_month is None:
        return None
    reported: dict[str, float] = {}
    for key, income in state.incomes.items():
        month = key.split("|", 1)[0]
        reported[month] = reported.get(month, 0.0) + income.amount
    window = _window(end_month)
    estimate = profile.annual_net_income / 12
    income_12m = round(sum(reported.get(month, estimate) for month in window), 2)
    return Figures(
        members=profile.members,
        income_12m=income_12m,
        per_capita_income=round(income_12m / profile.members, 2),
        months_reported=sum(month in reported for month in window),
        monitoring_line=float(policy.values.monitoring_line),
    )


def _income_below_line(figures: Figures) -> Reason | None:
    if figures.per_capita_income >= figures.monitoring_line:
        return None
    evidence: dict[str, float | int | str] = {
        "income_12m": figures.income_12m,
        "members": figures.members,
        "per_capita_income": figures.per_capita_income,
        "monitoring_line": figures.monitoring_line,
        "months_reported": figures.months_reported,
    }
    return Reason(
        code="income_below_threshold",
        message_zh=(
            f"近12个月家庭纯收入{figures.income_12m:,.0f}元，共{figures.members}人，"
            f"人均{figures.per_capita_income:,.0f}元，低于监测线{figures.monitoring_line:,.0f}元"
            f"（{figures.months_reported}个月有申报收入，其余按登记年收入估算）"
        ),
        message_en=(
            f"12-month income {figures.income_12m:,.0f} yuan for {figures.members} people = "
            f"{figures.per_capita_income:,.0f} per person, below the {figures.monitoring_line:,.0f} line "
            f"({figures.months_reported} of 12 months reported, the rest estimated from the registered annual income)"
        ),
        evidence=evidence,
    )


def assess(state: HouseholdState, policy: Policy) -> Assessment | None:
    """Apply every rule; None when the household is not registered yet."""
    figures = household_figures(state, policy)
    if figures is None:
        return None
    reasons = [reason for reason in (_income_below_line(figures),) if reason is not None]
    level: Level = "red" if reasons else "green"
    return Assessment(level=level, reasons=reasons, figures=figures)
