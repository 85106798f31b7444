"""Policy rules: from a household's state and the policy in force to a level, reasons and a category."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat

from services.common.levels import Level, highest_level
from services.common.months import window
from services.common.policy import EXITED_HOUSEHOLD, Policy, PolicyValues
from services.common.score_records import FiguresRecord, ReasonRecord, RiskTypeRecord
from services.common.scores import Category
from services.scoring.causes import proposed_causes
from services.scoring.reasons import (
    disaster_economic_loss,
    disaster_house_damage,
    income_after_rigid_spending,
    income_below_line,
    income_drop,
    medical_burden,
    self_declared,
)
from services.scoring.state import HouseholdState

_INCOME_REASONS = ("income_below_threshold", "income_after_rigid_spending_below_threshold")


@dataclass(frozen=True)
class Assessment:
    """The rules' verdict on one household."""

    level: Level
    reasons: list[ReasonRecord]
    figures: FiguresRecord
    proposed_category: Category | None
    risk_types: list[RiskTypeRecord] = field(default_factory=list)  # proposed by the evidence, main first

    def fingerprint(self) -> str:
        """What must change for a new score to be worth emitting (schooling and risk types only once there are any,
        so that a household without them keeps the fingerprint it had before they existed)."""
        codes = ",".join(f"{reason.code}:{reason.level}" for reason in self.reasons)
        f = self.figures
        found = (
            f"{self.level}|{codes}|{f.income_12m:.2f}|{f.members}|{f.monitoring_line}|{f.medical_out_of_pocket_12m:.2f}"
        )
        if f.schooling_out_of_pocket_12m:
            found += f"|{f.schooling_out_of_pocket_12m:.2f}"
        if self.risk_types:
            found += "|" + ",".join(f"{p.risk_type}:{p.evidence}" for p in self.risk_types)
        return found


@dataclass(frozen=True, slots=True)
class Standing:
    """A registered household's figures at its latest month, and the monthly incomes behind them."""

    figures: FiguresRecord
    reported: dict[str, float]  # net income per reported month, all sources added
    months: tuple[str, ...]  # the 12-month window, newest first


def monthly_income(state: HouseholdState) -> dict[str, float]:
    """Reported net income per month, all sources added; a source's yearly report fills its months without one."""
    reported: dict[str, float] = {}
    yearly: list[tuple[str, str, float]] = []
    for key, income in state.incomes.items():
        if key[4] == "|":  # "YYYY|source": the whole year's income from that source
            yearly.append((key[:4], key[5:], income.amount))
            continue
        month = key[:7]
        reported[month] = reported.get(month, 0.0) + income.amount
    for year, source, amount in yearly:
        for number in range(1, 13):
            month = f"{year}-{number:02d}"
            if f"{month}|{source}" not in state.incomes:
                reported[month] = reported.get(month, 0.0) + amount / 12
    return reported


def standing(state: HouseholdState, policy: Policy) -> Standing | None:
    """Yearly income over the policy's window (months without a report use the registered annual income; a window
    shorter than 12 months is annualised) and the rigid spending of the same months."""
    profile, end_month = state.profile, state.latest_month
    if profile is None or end_month is None:
        return None
    span = policy.values.income_window_months
    reported, months = monthly_income(state), window(end_month, span)
    estimate = profile.annual_net_income / 12
    income_12m = round(sum(map(reported.get, months, repeat(estimate))) * 12 / span, 2)
    first = months[-1]
    medical = round(sum(float(h.figures["out_of_pocket"]) for h in state.medical.values() if h.date[:7] >= first), 2)
    schooling = (
        round(sum(float(h.figures["out_of_pocket"]) for h in state.schooling.values() if h.date[:7] >= first), 2)
        if state.schooling
        else 0.0
    )
    figures = FiguresRecord(
        members=profile.members,
        labourers=profile.labourers,
        income_12m=income_12m,
        per_capita_income=round(income_12m / profile.members, 2),
        months_reported=sum(map(reported.__contains__, months)),
        monitoring_line=float(policy.values.monitoring_line),
        medical_out_of_pocket_12m=medical,
        per_capita_after_rigid_spending=round((income_12m - medical - schooling) / profile.members, 2),
        schooling_out_of_pocket_12m=schooling,
    )
    return Standing(figures, reported, months)


def household_figures(state: HouseholdState, policy: Policy) -> FiguresRecord | None:
    """The household's current figures (None before registration)."""
    found = standing(state, policy)
    return found.figures if found else None


def _proposed_category(state: HouseholdState, reasons: list[ReasonRecord], values: PolicyValues) -> Category | None:
    if not reasons or state.profile is None:
        return None
    proposed = values.proposed_categories
    if state.profile.category == EXITED_HOUSEHOLD:
        return proposed.exited_household
    if any(reason.code in _INCOME_REASONS for reason in reasons):
        return proposed.income_below_line
    return proposed.otherwise


def assess(state: HouseholdState, policy: Policy, known: Standing | None = None) -> Assessment | None:
    """Apply every rule; None when the household is not registered yet (`known`: its standing, if computed)."""
    found = known or standing(state, policy)
    if found is None or state.profile is None or state.latest_month is None:
        return None
    figures, values, first_month = found.figures, policy.values, found.months[-1]
    recent = [h for h in state.disasters.values() if h.date[:7] >= first_month]
    low_income = state.profile.category in values.low_income_categories
    candidates = [
        income_below_line(figures, values),
        income_after_rigid_spending(figures, values),
        income_drop(found.reported, state.latest_month, state.profile.annual_net_income, values, state.members_in),
        medical_burden(figures, low_income, values),
        disaster_house_damage(recent, values) if recent else None,
        disaster_economic_loss(recent, figures, values) if recent else None,
        self_declared([h for h in state.applications.values() if h.date[:7] >= first_month], values)
        if state.applications
        else None,
    ]
    reasons = [reason for reason in candidates if reason is not None]
    level = highest_level(reason.level for reason in reasons)
    causes = proposed_causes(state, reasons, found, values) if reasons else []
    return Assessment(level, reasons, figures, _proposed_category(state, reasons, values), causes)
