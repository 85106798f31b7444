"""Policy configuration: versioned TOML files per year, values overridden by region-code prefix."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from services.common.events import HouseholdCategory
from services.common.risk_types import RISK_TYPES, MeasureType, RiskType
from services.common.scores import Category

Prefix = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]


class PolicyError(ValueError):
    """A policy file is unusable; the message names the file, the key and the reason."""


AlertLevel = Literal["red", "yellow"]
EXITED_HOUSEHOLD: HouseholdCategory = "poverty_exited"  # the category an "exited household" (policy, model) is


class ReasonLevels(BaseModel):
    """The level each rule raises: red = visit at once, yellow = visit within the deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    income_below_threshold: AlertLevel
    income_after_rigid_spending_below_threshold: AlertLevel
    income_drop: AlertLevel
    medical_burden: AlertLevel
    disaster_house_collapsed: AlertLevel
    disaster_house_severe: AlertLevel
    disaster_economic_loss: AlertLevel
    self_declared: AlertLevel
    unregistered_medical_burden: AlertLevel


class ProposedCategories(BaseModel):
    """The monitored category a case is proposed for (the county decides): by the household's registration, else
    by whether its income is below the line, else a sudden hardship; a household found through discovery apart."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    exited_household: Category
    income_below_line: Category
    otherwise: Category
    unregistered_household: Category  # found through a person's records (discovery)


class RiskTypeRules(BaseModel):
    """Which evidence proposes which risk type (风险类型) for a case, and what stands when none is specific."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Medical costs raised the case (medical burden, or income after rigid spending below the line): by the illness
    # of the bills that cost the household most in the window (`medical_other`: other, unnamed, or unregistered).
    medical_chronic: RiskType
    medical_critical: RiskType
    medical_acute: RiskType
    medical_other: RiskType
    schooling: RiskType  # schooling costs in the rigid spending below the line (education.expense.incurred)
    house_damage: RiskType
    disaster_loss: RiskType
    # Income dropped: by the source whose income fell most.
    income_drop_wage: RiskType
    income_drop_agriculture: RiskType
    income_drop_business: RiskType
    income_drop_property: RiskType
    income_drop_transfer: RiskType
    income_drop_other: RiskType
    disabled_short_of_labour: RiskType  # disabled members, labour share below disability_labour_share_below
    # When no evidence is specific: by the highest reason (income below the line, an own application, the model).
    income_unexplained: RiskType
    self_declared: RiskType
    model_risk: RiskType


class PolicyValues(BaseModel):
    """Every figure the rules and the workflow use; the `default` table of a policy file sets them all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What counts (scoring)
    income_window_months: int = Field(ge=1, le=12, description="months of net income per-capita income adds up")
    low_income_categories: frozenset[HouseholdCategory] = Field(description="held to the low-income medical triggers")
    levels: ReasonLevels
    proposed_categories: ProposedCategories
    risk_type_rules: RiskTypeRules
    risk_type_drivers: dict[str, RiskType] = Field(description="the model's attribution (feature) → risk type")
    risk_type_driver_evidence: dict[str, str] = Field(
        default_factory=dict, description="attribution → the feature the household must hold above zero for its type"
    )
    disability_labour_share_below: Decimal = Field(ge=0, le=1, description="labourers / members, with disabled members")
    # Money rules (scoring)
    monitoring_line: Decimal = Field(gt=0, description="yuan of net income per person per year")
    reference_rural_income: Decimal = Field(gt=0, description="previous-year rural disposable income per person")
    medical_share_exited: Decimal = Field(gt=0, description="out-of-pocket share of reference income, exited/monitored")
    medical_share_ordinary: Decimal = Field(gt=0, description="out-of-pocket share of reference income, others")
    medical_absolute_low_income: Decimal = Field(gt=0, description="yearly out-of-pocket yuan, exited/monitored")
    medical_absolute_other: Decimal = Field(gt=0, description="yearly out-of-pocket yuan, others")
    income_drop_ratio: Decimal = Field(gt=0, lt=1, description="fall of recent income against the year before")
    income_drop_window_months: int = Field(ge=1, le=12)
    disaster_loss_share: Decimal = Field(gt=0, description="economic loss as a share of yearly household income")
    model_yellow_probability: Decimal = Field(gt=0, lt=1)
    model_red_probability: Decimal = Field(gt=0, lt=1)
    model_yellow_budget: Decimal | None = Field(
        default=None, gt=0, lt=1, description="yellow = this share of households with the highest probability"
    )
    discovery_medical_trigger: Decimal = Field(gt=0, description="yearly out-of-pocket yuan of an unregistered person")
    # Workflow deadlines (alerts); ISO 8601 durations such as "P2D" or "PT30S"
    home_visit_within: timedelta = Field(gt=timedelta(0))
    identification_within: timedelta = Field(gt=timedelta(0), description="discovery to decision on inclusion")
    public_notice_min: timedelta = Field(gt=timedelta(0), description="village public notice before county approval")
    reminder_before: timedelta = Field(gt=timedelta(0))
    dismissal_quiet_period: timedelta = Field(ge=timedelta(0), description="same reasons do not reopen meanwhile")
    # Risk elimination (风险消除)
    resolution_income_months: int = Field(ge=0, description="months of income above the line")
    resolution_monitored_for: timedelta = Field(ge=timedelta(0))
    resolution_min_measures: int = Field(ge=0)
    resolution_requires_labour: bool
    risk_type_measures: dict[RiskType, list[MeasureType]] = Field(description="the measures that answer each type")
    resolution_requires_matching_measures: bool = Field(description="a measure answering each confirmed risk type")

    @model_validator(mode="after")
    def _evidence_of_mapped_attributions(self) -> PolicyValues:
        named = {name for pair in self.risk_type_driver_evidence.items() for name in pair}
        unknown = sorted(named - set(self.risk_type_drivers))
        if unknown:
            raise ValueError(f"risk_type_driver_evidence names {', '.join(unknown)}, not in risk_type_drivers")
        return self

    @field_validator("risk_type_measures")
    @classmethod
    def _every_type_answered(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        missing = [name for name in RISK_TYPES if not value.get(name)]
        if missing:
            raise ValueError(f"every risk type needs at least one measure; none for {', '.join(missing)}")
        return value


class PolicyFile(BaseModel):
    """One year's policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    year: int = Field(ge=1900, le=2100)  # survey panels reach back decades
    default: PolicyValues
    regions: dict[Prefix, dict[str, Any]] = Field(default_factory=dict)  # each overrides some default values  # type: ignore[valid-type]


@dataclass(frozen=True)
class Policy:
    """The values in force for one region and year, and where they came from."""

    version: str
    values: PolicyValues


class PolicyBook:
    """All policy files; answers which values apply to a region in a year."""

    def __init__(self, files: list[PolicyFile]):
        if not files:
            raise PolicyError("no policy files found")
        self._files = sorted(files, key=lambda f: f.year)
        self._resolved: dict[tuple[str, int], Policy] = {}

    @classmethod
    def load(cls, folder: Path) -> PolicyBook:
        """Read and check every `*.toml` in `folder`; raise PolicyError on the first bad one."""
        files = [_read(path) for path in sorted(folder.glob("*.toml"))]
        years = [f.year for f in files]
        duplicated = {y for y in years if years.count(y) > 1}
        if duplicated:
            raise PolicyError(f"{folder}: more than one policy file for year {min(duplicated)}")
        if not files:
            raise PolicyError(f"{folder}: no *.toml policy files")
        return cls(files)

    @property
    def first_day(self) -> date:
        """The first day the policy history covers (1 January of the earliest policy year)."""
        return date(self._files[0].year, 1, 1)

    def require_covered(self, days: Iterable[date], what: str = "cut-off") -> None:
        """Refuse days before the first policy year: no file was in force then, and another year's line would be
        used silently (the stream does use the first file; analyses must not)."""
        early = sorted(day for day in days if day < self.first_day)
        if early:
            raise PolicyError(
                f"no policy file covers {what} {early[0]} (the earliest policy year is {self.first_day.year}): its "
                "monitoring line would be another year's; pass --policy-dir with a policy for those years (the panel's "
                "own: import-panel --policy-out writes one)"
            )

    def for_region(self, region_code: str, year: int) -> Policy:
        """Values for `region_code` in `year`: the latest file not after `year`, longest prefix winning."""
        key = (region_code, year)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(region_code, year)
        return self._resolved[key]

    def _resolve(self, region_code: str, year: int) -> Policy:
        candidates = [f for f in self._files if f.year <= year] or self._files[:1]
        chosen = candidates[-1]
        values = chosen.default.model_dump()
        for prefix in sorted(chosen.regions, key=len):
            if region_code.startswith(prefix):
                values = overridden(values, chosen.regions[prefix])
        return Policy(version=chosen.version, values=PolicyValues(**values))


def overridden(values: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`values` with a region's override applied; a table (e.g. `levels`) is overridden key by key."""
    merged = dict(values)
    for key, value in override.items():
        known = merged.get(key)
        merged[key] = {**known, **value} if isinstance(known, dict) and isinstance(value, dict) else value
    return merged


def _read(path: Path) -> PolicyFile:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    try:
        policy = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(f"{path}: {_first_error(exc)}") from exc
    for prefix, override in policy.regions.items():  # an override is checked like the default it changes
        try:
            PolicyValues.model_validate(overridden(policy.default.model_dump(), override))
        except ValidationError as exc:
            raise PolicyError(f"{path}: regions.{prefix}.{_first_error(exc)}") from exc
    return policy


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}"
