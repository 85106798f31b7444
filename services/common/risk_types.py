"""Risk types (风险类型): the causes a case carries, from one vocabulary, and the assistance measures' vocabulary.

Which evidence proposes which type, and which measures answer each type, is policy (`policy/*.toml`); this module
holds only the words both sides share, and the one rule that orders a case's proposals into its risk types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, Protocol, TypeVar, cast, get_args

from services.common.levels import LEVEL_RANK, Level

# The causes of seed 002 (因病、因学、因灾、因残、因突发事件、因产业失败、因就业不稳、因收入来源不稳定), and `other`.
RiskType = Literal[
    "illness",
    "disability",
    "education",
    "disaster",
    "accident",
    "business_failure",
    "unstable_employment",
    "unstable_income",
    "other",
]
RISK_TYPES: tuple[RiskType, ...] = get_args(RiskType)
# zh-CN label (as staff write it), English label
RISK_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "illness": ("因病", "illness"),
    "disability": ("因残", "disability"),
    "education": ("因学", "education"),
    "disaster": ("因灾", "disaster"),
    "accident": ("因意外事故/突发事件", "accident or sudden event"),
    "business_failure": ("因产业失败", "failed business"),
    "unstable_employment": ("因就业不稳", "unstable employment"),
    "unstable_income": ("因收入不稳定", "unstable income"),
    "other": ("其他", "other"),
}
# Assistance measures (帮扶措施) a case may record; the policy lists, per risk type, those that answer it.
MeasureType = Literal[
    "industry",  # 产业帮扶
    "employment",  # 就业帮扶
    "medical_assistance",  # 医疗救助
    "minimum_living_allowance",  # 低保
    "extreme_poverty_support",  # 特困
    "temporary_relief",  # 临时救助
    "education_aid",  # 教育资助
    "housing",  # 住房保障 (危房改造)
    "other",
    "critical_illness_insurance",  # 大病保险
    "chronic_disease_contract",  # 慢病签约服务 (家庭医生签约)
    "disability_allowance",  # 残疾人两项补贴
    "disaster_relief",  # 救灾救助
    "agricultural_insurance_claim",  # 农业保险理赔
    "public_welfare_job",  # 公益岗位
    "microcredit_extension",  # 小额信贷展期
]


def label(risk_type: str, lang: str) -> str:
    """The type as staff read it in `lang` (zh or en); an unknown code as itself."""
    zh, en = RISK_TYPE_LABELS.get(risk_type, (risk_type, risk_type))
    return zh if lang == "zh" else en


class Proposed(Protocol):
    """What ordering reads of a proposal (scoring's record or the contract's model)."""

    @property
    def risk_type(self) -> str: ...
    @property
    def level(self) -> Level: ...
    @property
    def amount(self) -> float: ...
    @property
    def fallback(self) -> bool: ...


P = TypeVar("P", bound=Proposed)


def ranked(proposals: Iterable[P]) -> list[P]:
    """The proposals that stand, main first: a fallback only when no evidence proposed a type; then by the level of
    the reason behind each, the yuan it weighs, and the vocabulary's order."""
    found = list(proposals)
    specific = [p for p in found if not p.fallback]
    return sorted(specific or found, key=lambda p: (-LEVEL_RANK[p.level], -p.amount, RISK_TYPES.index(p.risk_type)))


def risk_types_of(proposals: Iterable[Proposed]) -> list[RiskType]:
    """A case's risk types from its proposals: each type once, main first."""
    return [cast(RiskType, name) for name in dict.fromkeys(p.risk_type for p in ranked(proposals))]
