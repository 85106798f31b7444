"""Which risk types (风险类型) a case's evidence proposes, by the policy's `risk_type_rules`, each with its evidence in
words. Only households with reasons get here, and each rule reads what its own reason already looked at: a few dict
lookups, a household's bills of the window, its incomes by source only when its income dropped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from services.common.levels import LEVEL_RANK
from services.common.months import month_shift, window
from services.common.policy import PolicyValues
from services.common.risk_types import RISK_TYPES, RiskType, ranked
from services.common.score_records import ReasonRecord, RiskTypeRecord, ScoreRecord
from services.scoring.state import HouseholdState

if TYPE_CHECKING:
    from services.scoring.rules import Standing

WordBook = dict[str, tuple[str, str]]
MEDICAL_REASONS = ("medical_burden", "income_after_rigid_spending_below_threshold")
INCOME_REASONS = ("income_below_threshold", "income_after_rigid_spending_below_threshold", "income_drop")
DRIVER = "driver:"  # the evidence of a type one of the model's attributions proposes: driver:<feature>
_ILLNESS = {
    "chronic": ("慢性病", "chronic illness"),
    "critical": ("重大疾病", "critical illness"),
    "acute": ("急症或意外伤害", "acute illness or injury"),
    "other": ("疾病", "illness"),
}
_SOURCES = {
    "wage": ("工资性", "wage"),
    "agriculture": ("农业经营", "farming"),
    "business": ("经营", "business"),
    "property": ("财产性", "property"),
    "transfer": ("转移性", "transfer"),
    "other": ("其他", "other"),
}
_DAMAGE = {"collapsed": ("倒塌", "collapsed"), "severe": ("严重损坏", "severely damaged")}


def _proposal(
    risk_type: RiskType,
    reason: ReasonRecord,
    evidence: str,
    zh: str,
    en: str,
    amount: float = 0.0,
    fallback: bool = False,
) -> RiskTypeRecord:
    return RiskTypeRecord(
        risk_type=risk_type, reason=reason.code, evidence=evidence, level=reason.level, message_zh=zh, message_en=en,
        amount=round(amount, 2), fallback=fallback,
    )  # fmt: skip


def _medical(state: HouseholdState, reason: ReasonRecord, first: str, v: PolicyValues) -> list[RiskTypeRecord]:
    """The type of the bills that cost most in the window (by their illness), with the illness that cost most."""
    by_type: dict[RiskType, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for bill in state.medical.values():
        if bill.date[:7] >= first:
            illness = str(bill.figures.get("illness") or "other")
            risk_type = getattr(v.risk_type_rules, f"medical_{illness}", v.risk_type_rules.medical_other)
            by_type[risk_type][illness] += float(bill.figures.get("out_of_pocket", 0))
    if not by_type:
        return []
    risk_type = max(by_type, key=lambda name: (sum(by_type[name].values()), -RISK_TYPES.index(name)))
    illnesses = by_type[risk_type]
    illness = max(illnesses, key=illnesses.__getitem__)
    paid = sum(illnesses.values())
    zh, en = _ILLNESS.get(illness, _ILLNESS["other"])
    return [_proposal(risk_type, reason, f"medical_{illness}" if illness in _ILLNESS else "medical_other",
                      f"{zh}等医疗自付{paid:,.0f}元（近12个月）", f"{en}: {paid:,.0f} yuan out of pocket in 12 months",
                      paid)]  # fmt: skip


def _schooling(reason: ReasonRecord, paid: float, v: PolicyValues) -> list[RiskTypeRecord]:
    if paid <= 0:
        return []
    return [_proposal(v.risk_type_rules.schooling, reason, "schooling", f"教育支出自付{paid:,.0f}元（近12个月）",
                      f"schooling costs of {paid:,.0f} yuan in 12 months", paid)]  # fmt: skip


def _disaster(state: HouseholdState, reason: ReasonRecord, first: str, v: PolicyValues) -> list[RiskTypeRecord]:
    recent = [h for h in state.disasters.values() if h.date[:7] >= first]
    loss = sum(float(h.figures.get("economic_loss", 0)) for h in recent)
    if reason.code == "disaster_economic_loss":
        zh, en = f"灾害损失{loss:,.0f}元（近12个月）", f"disaster losses of {loss:,.0f} yuan in 12 months"
        return [_proposal(v.risk_type_rules.disaster_loss, reason, "disaster_loss", zh, en, loss)]
    damage = str(reason.evidence.get("house_damage", "collapsed"))
    zh, en = _DAMAGE.get(damage, _DAMAGE["collapsed"])
    when, hazard = reason.evidence.get("date", ""), reason.evidence.get("hazard", "")
    return [_proposal(v.risk_type_rules.house_damage, reason, "house_damage", f"{when}住房因灾（{hazard}）{zh}",
                      f"house {en} by {hazard} on {when}", loss)]  # fmt: skip


def _by_source(state: HouseholdState, months: Iterable[str]) -> dict[str, float]:
    """Income per source over `months` (a source's yearly report fills its months without a monthly one)."""
    wanted, found = set(months), dict[str, float]()
    for key, income in state.incomes.items():
        period, _, source = key.partition("|")
        if period in wanted:
            found[source] = found.get(source, 0.0) + income.amount
        elif len(period) == 4:
            filled = [m for m in wanted if m[:4] == period and f"{m}|{source}" not in state.incomes]
            found[source] = found.get(source, 0.0) + income.amount / 12 * len(filled)
    return found


def _income_drop(state: HouseholdState, reason: ReasonRecord, end: str, v: PolicyValues) -> list[RiskTypeRecord]:
    """The source whose income fell most against the same months a year before (none when they were not reported)."""
    n = v.income_drop_window_months
    recent, earlier = _by_source(state, window(end, n)), _by_source(state, window(month_shift(end, -12), n))
    falls = {source: earlier[source] - recent.get(source, 0.0) for source in earlier}
    source = max(falls, key=falls.__getitem__, default=None)
    if source is None or falls[source] <= 0:
        return []
    zh, en = _SOURCES.get(source, _SOURCES["other"])
    rule = f"income_drop_{source}" if source in _SOURCES else "income_drop_other"
    return [_proposal(getattr(v.risk_type_rules, rule), reason, rule,
                      f"{zh}收入最近{n}个月比去年同期减少{falls[source]:,.0f}元",
                      f"{en} income of the last {n} months is {falls[source]:,.0f} yuan below a year before",
                      falls[source])]  # fmt: skip


def _disability(state: HouseholdState, reasons: Sequence[ReasonRecord], v: PolicyValues) -> list[RiskTypeRecord]:
    """Disabled members in a household short of labour, when its income (or its own application) raised the case."""
    profile = state.profile
    raising = [r for r in reasons if r.code in (*INCOME_REASONS, "self_declared")]
    if profile is None or not raising or not profile.disabled_members:
        return []
    if profile.labourers >= float(v.disability_labour_share_below) * profile.members:
        return []
    top = max(raising, key=lambda r: LEVEL_RANK[r.level])
    return [_proposal(v.risk_type_rules.disabled_short_of_labour, top, "disabled_short_of_labour",
                      f"家有残疾人{profile.disabled_members}人，{profile.members}口人中劳动力{profile.labourers}人",
                      f"{profile.disabled_members} disabled member(s), {profile.labourers} labourer(s) among "
                      f"{profile.members} members")]  # fmt: skip


def proposed_causes(
    state: HouseholdState, reasons: Sequence[ReasonRecord], found: Standing, v: PolicyValues
) -> list[RiskTypeRecord]:
    """The risk types the rules' reasons propose, main first; when no evidence is specific, the policy's type for the
    highest reason (low or falling income, an own application)."""
    first, proposals = found.months[-1], list[RiskTypeRecord]()
    for reason in reasons:
        code = reason.code
        if code in MEDICAL_REASONS:
            proposals += _medical(state, reason, first, v)
        if code == "income_after_rigid_spending_below_threshold":
            proposals += _schooling(reason, found.figures.schooling_out_of_pocket_12m, v)
        elif code in ("disaster_house_damage", "disaster_economic_loss"):
            proposals += _disaster(state, reason, first, v)
        elif code == "income_drop" and state.latest_month is not None:
            proposals += _income_drop(state, reason, state.latest_month, v)
    proposals += _disability(state, reasons, v)
    if not proposals and reasons:
        top = max(reasons, key=lambda r: LEVEL_RANK[r.level])
        rule = "self_declared" if top.code == "self_declared" else "income_unexplained"
        zh, en = ("农户自主申报困难", "the household applied for help") if rule == "self_declared" else (
            "收入偏低或下降，未发现具体致因", "low or falling income, no specific cause found")  # fmt: skip
        proposals.append(_proposal(getattr(v.risk_type_rules, rule), top, rule, zh, en, fallback=True))
    return ranked(proposals)


def with_model_causes(
    proposals: list[RiskTypeRecord],
    reason: ReasonRecord,
    v: PolicyValues,
    words: WordBook,
    features: Mapping[str, float],
) -> list[RiskTypeRecord]:
    """The proposals with those of the model's attributions (`drivers` of its reason) added, main first; the policy's
    `model_risk` type when neither the rules nor the attributions propose one. An attribution names its type only
    where the household's `features` hold the evidence the policy asks of it (`risk_type_driver_evidence`)."""
    drivers = [name for name in str(reason.evidence.get("drivers", "")).split(",") if name]
    added, seen = [], set[str]()
    for name in drivers:
        risk_type = v.risk_type_drivers.get(name)
        evidence = v.risk_type_driver_evidence.get(name)
        if evidence is not None and features.get(evidence, 0.0) <= 0:
            continue
        if risk_type is not None and risk_type not in seen:
            seen.add(risk_type)
            zh, en = words.get(name, (name, name))
            added.append(_proposal(risk_type, reason, DRIVER + name, f"模型因素：{zh}", f"model attribution: {en}"))
    if not added and not proposals:
        added.append(_proposal(v.risk_type_rules.model_risk, reason, "model_risk", "模型预测风险，未发现具体致因",
                               "the model's risk, no specific cause found", fallback=True))  # fmt: skip
    return ranked([*proposals, *added])


def attributed_risk_types(score: ScoreRecord) -> tuple[str, ...]:
    """The risk types the model's attributions in `score` point to (by the policy's `risk_type_drivers`), each once,
    in the order of the attributions (largest first); none when the model raised nothing."""
    by_driver = {p.evidence.removeprefix(DRIVER): p.risk_type for p in score.risk_type_proposals
                 if p.evidence.startswith(DRIVER)}  # fmt: skip
    drivers = next((str(r.evidence.get("drivers", "")) for r in score.reasons if r.code == "model_risk"), "")
    return tuple(by_driver[name] for name in drivers.split(",") if name in by_driver)
