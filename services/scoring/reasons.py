"""One function per reason code: the rule, its evidence figures, and words a township worker understands."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.common.levels import Level, model_level
from services.common.months import month_shift, window
from services.common.policy import PolicyValues
from services.common.score_records import FiguresRecord as Figures
from services.common.score_records import ReasonRecord as Reason
from services.scoring.state import Happening

Evidence = dict[str, float | int | str]
WordBook = dict[str, tuple[str, str]]


def _span_zh(v: PolicyValues) -> str:
    months = v.income_window_months
    return "近12个月" if months == 12 else f"近{months}个月（按年折算）"


def _span_en(v: PolicyValues) -> str:
    months = v.income_window_months
    return "12-month" if months == 12 else f"{months}-month (annualised)"


def _reason(code: str, level: Level, zh: str, en: str, evidence: Evidence) -> Reason:
    return Reason(code, level, zh, en, evidence)


def income_below_line(f: Figures, v: PolicyValues) -> Reason | None:
    """Net income per person over the policy's window (a year by default) below the monitoring line."""
    if f.per_capita_income >= f.monitoring_line:
        return None
    return _reason(
        "income_below_threshold",
        v.levels.income_below_threshold,
        f"{_span_zh(v)}家庭纯收入{f.income_12m:,.0f}元，共{f.members}人，人均{f.per_capita_income:,.0f}元，"
        f"低于监测线{f.monitoring_line:,.0f}元（{f.months_reported}个月有申报收入，其余按登记年收入估算）",
        f"{_span_en(v)} income {f.income_12m:,.0f} yuan for {f.members} people = "
        f"{f.per_capita_income:,.0f} per person, below the {f.monitoring_line:,.0f} line "
        f"({f.months_reported} of {v.income_window_months} months reported, "
        "the rest estimated from the registered annual income)",
        {
            "income_12m": f.income_12m,
            "members": f.members,
            "per_capita_income": f.per_capita_income,
            "monitoring_line": f.monitoring_line,
            "months_reported": f.months_reported,
        },
    )


def income_after_rigid_spending(f: Figures, v: PolicyValues) -> Reason | None:
    """Above the line, but below it once the rigid spending is paid (medical out-of-pocket costs, schooling costs)."""
    after = f.per_capita_after_rigid_spending
    if after is None or f.per_capita_income < f.monitoring_line or after >= f.monitoring_line:
        return None
    school = f.schooling_out_of_pocket_12m  # named only where there is some (the v1 wording stays as it was)
    return _reason(
        "income_after_rigid_spending_below_threshold",
        v.levels.income_after_rigid_spending_below_threshold,
        f"{_span_zh(v)}收入{f.income_12m:,.0f}元，扣除医疗自付{f.medical_out_of_pocket_12m:,.0f}元"
        f"{f'、教育支出{school:,.0f}元' if school else ''}后，人均{after:,.0f}元，低于监测线{f.monitoring_line:,.0f}元",
        f"{_span_en(v)} income {f.income_12m:,.0f} yuan less {f.medical_out_of_pocket_12m:,.0f} yuan of medical costs "
        f"{f'and {school:,.0f} yuan of schooling costs ' if school else ''}"
        f"leaves {after:,.0f} per person for {f.members} people, below the {f.monitoring_line:,.0f} line",
        {
            "income_12m": f.income_12m,
            "medical_out_of_pocket_12m": f.medical_out_of_pocket_12m,
            **({"schooling_out_of_pocket_12m": school} if school else {}),
            "per_capita_after_rigid_spending": after,
            "monitoring_line": f.monitoring_line,
        },
    )


def income_drop(
    reported: dict[str, float],
    end_month: str,
    annual: float,
    v: PolicyValues,
    members_in: Callable[[str], int] | None = None,
) -> Reason | None:
    """Yellow: income per person of the last N reported months fell by the policy share against the same months a
    year before (household sizes as registered then: a member who leaves with their income is no drop)."""
    n = v.income_drop_window_months
    recent_months = window(end_month, n)
    if not all(month in reported for month in recent_months):
        return None
    size = members_in or (lambda month: 1)
    earlier_months = window(month_shift(end_month, -12), n)
    recent = sum(reported[month] for month in recent_months)
    recent_each = sum(reported[month] / size(month) for month in recent_months)
    if all(month in reported for month in earlier_months):
        before, basis_zh, basis_en = (
            sum(reported[m] for m in earlier_months),
            "去年同期",
            "the same months a year before",
        )
        before_each = sum(reported[m] / size(m) for m in earlier_months)
    else:
        before, basis_zh, basis_en = annual * n / 12, "登记年收入折算", "the registered annual income"
        before_each = before / size(end_month)
    if before_each <= 0 or round(recent_each, 2) > round(before_each * (1 - float(v.income_drop_ratio)), 2):
        return None
    drop = 1 - recent_each / before_each
    now, then = size(end_month), size(earlier_months[0])
    sizes_zh = f"（家庭人口由{then}人变为{now}人，按人均计）" if now != then else ""
    sizes_en = f" per person (the household went from {then} to {now} members)" if now != then else ""
    return _reason(
        "income_drop",
        v.levels.income_drop,
        f"最近{n}个月收入{recent:,.0f}元，比{basis_zh}{before:,.0f}元下降{drop:.0%}{sizes_zh}"
        f"（预警比例{float(v.income_drop_ratio):.0%}）",
        f"income of the last {n} months {recent:,.0f} yuan is {drop:.0%} below {basis_en} ({before:,.0f} yuan)"
        f"{sizes_en}; the warning ratio is {float(v.income_drop_ratio):.0%}",
        {
            "recent_income": round(recent, 2),
            "earlier_income": round(before, 2),
            "drop_ratio": round(drop, 4),
            "months": n,
            **({"members_recent": now, "members_earlier": then} if now != then else {}),
        },
    )


def medical_burden(f: Figures, low_income: bool, v: PolicyValues) -> Reason | None:
    """Yellow: yearly out-of-pocket above the policy share of reference income, or the absolute amount."""
    share = float(v.medical_share_exited if low_income else v.medical_share_ordinary)
    relative = share * float(v.reference_rural_income)
    absolute = float(v.medical_absolute_low_income if low_income else v.medical_absolute_other)
    paid, reference = f.medical_out_of_pocket_12m, float(v.reference_rural_income)
    if paid <= min(relative, absolute):
        return None
    return _reason(
        "medical_burden",
        v.levels.medical_burden,
        f"近12个月医疗自付{paid:,.0f}元，超过预警线{min(relative, absolute):,.0f}元"
        f"（农村人均可支配收入{reference:,.0f}元的{share:.0%}或{absolute:,.0f}元）",
        f"medical out-of-pocket costs of {paid:,.0f} yuan in 12 months exceed the {min(relative, absolute):,.0f} yuan "
        f"trigger ({share:.0%} of the {reference:,.0f} yuan rural income, or {absolute:,.0f} yuan)",
        {"medical_out_of_pocket_12m": paid, "relative_trigger": round(relative, 2), "absolute_trigger": absolute},
    )


_DAMAGE_ZH = {"collapsed": "倒塌", "severe": "严重损坏"}


def disaster_house_damage(disasters: Iterable[Happening], v: PolicyValues) -> Reason | None:
    """The house collapsed or was severely damaged within the policy's window (each with its policy level)."""
    damaged = [h for h in disasters if h.figures.get("house_damage") in _DAMAGE_ZH]
    if not damaged:
        return None
    worst = max(damaged, key=lambda h: (h.figures["house_damage"] == "collapsed", h.date))
    damage, hazard = str(worst.figures["house_damage"]), str(worst.figures["hazard"])
    return _reason(
        "disaster_house_damage",
        v.levels.disaster_house_collapsed if damage == "collapsed" else v.levels.disaster_house_severe,
        f"{worst.date}因灾（{hazard}）住房{_DAMAGE_ZH[damage]}",
        f"house {damage} by {hazard} on {worst.date}",
        {"house_damage": damage, "hazard": hazard, "date": worst.date},
    )


def disaster_economic_loss(disasters: Iterable[Happening], f: Figures, v: PolicyValues) -> Reason | None:
    """Yellow: disaster losses in 12 months at or above the policy share of the household's yearly income."""
    loss = round(sum(float(h.figures.get("economic_loss", 0)) for h in disasters), 2)
    trigger = float(v.disaster_loss_share) * f.income_12m
    if loss <= 0 or loss < trigger:
        return None
    return _reason(
        "disaster_economic_loss",
        v.levels.disaster_economic_loss,
        f"近12个月灾害损失{loss:,.0f}元，达到家庭年收入{f.income_12m:,.0f}元的{float(v.disaster_loss_share):.0%}",
        f"disaster losses of {loss:,.0f} yuan in 12 months reach {float(v.disaster_loss_share):.0%} "
        f"of the household's {f.income_12m:,.0f} yuan yearly income",
        {"economic_loss_12m": loss, "income_12m": f.income_12m, "trigger": round(trigger, 2)},
    )


def self_declared(applications: list[Happening], v: PolicyValues) -> Reason | None:
    """Yellow: the household applied for help itself; every application gets a home visit."""
    if not applications:
        return None
    latest = max(h.date for h in applications)
    return _reason(
        "self_declared",
        v.levels.self_declared,
        f"农户于{latest}自主申报困难（近12个月共{len(applications)}次），需入户核实",
        f"the household applied for help on {latest} ({len(applications)} application(s) in 12 months); visit it",
        {"applications_12m": len(applications), "latest": latest},
    )


def model_risk(
    probability: float,
    drivers: list[tuple[str, float]],
    v: PolicyValues,
    words: WordBook,
    yellow: float | None = None,
    horizon_months: int = 12,
) -> Reason | None:
    """Yellow or red from the model's probability (yellow from `yellow`, default the policy's fixed cut), and why."""
    level = model_level(probability, v, yellow)
    if level == "green":
        return None
    zh = "、".join(words[name][0] for name, _ in drivers) or "综合因素"
    en = ", ".join(words[name][1] for name, _ in drivers) or "several factors together"
    return _reason(
        "model_risk",
        level,
        f"模型预测{horizon_months}个月内跌破监测线的概率为{probability:.0%}，主要因素：{zh}",
        f"the model puts the chance of falling below the line within {horizon_months} months at "
        f"{probability:.0%}; mainly: {en}",
        {"probability": round(probability, 4), "drivers": ",".join(name for name, _ in drivers)},
    )
