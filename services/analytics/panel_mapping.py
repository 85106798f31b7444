"""A household panel's TOML mapping: which columns of a row (one household, one period) become which v1 events.

Every kind of event the stream scores can come from a row: the registration (composition and any household field),
one `income.reported` per income source, and zero or more medical bills, disasters and own applications, each
declared as a block of columns, constants and code tables. No code per panel.
"""

from __future__ import annotations

import math
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.analytics.labels import as_of_date
from services.common.events import DATA_MODELS
from services.common.months import add_months
from services.ingest.mapping import Mapping, RowError

SOURCES = ("wage", "agriculture", "business", "property", "transfer", "other")
EMPTY = frozenset({"", "na", "nan", "none", "null", "."})  # cells that say "not recorded" (CSV, Stata, R exports)
_MONEY = frozenset({"amount", "total_cost", "out_of_pocket", "economic_loss", "annual_net_income"})
_COUNTS = frozenset({"members", "labourers", "disabled_members", "chronic_ill_members", "students"})
_YES = frozenset({"1", "true", "yes", "y", "是"})
_NO = frozenset({"0", "false", "no", "n", "否"})


class LineRule(BaseModel):
    """The monitoring line of each year: the panel's per-capita income at a quantile, or one fixed value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantile: float | None = Field(default=None, gt=0, lt=1)
    value: float | None = Field(default=None, gt=0, description="one line for every year (the panel's own unit)")
    region_prefix: str | None = Field(default=None, pattern=r"^\d{2,12}$", description="default: the region_code")
    template: str | None = Field(default=None, description="policy file whose other values apply (default: latest)")

    @model_validator(mode="after")
    def _one_rule(self) -> LineRule:
        if (self.quantile is None) == (self.value is None):
            raise ValueError("give the line as exactly one of quantile or value")
        return self


class EventBlock(BaseModel):
    """One event of a type that a row may carry for its period, e.g. the year's medical spending or a drought."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(default_factory=dict, description="event field → column")
    constants: dict[str, Any] = Field(default_factory=dict, description="event fields with a fixed value")
    codes: dict[str, dict[str, str]] = Field(default_factory=dict, description="field → {cell value → v1 word}")
    when: str | None = Field(default=None, description="column: the event happened in the period when true/non-zero")
    months_before_end: int = Field(default=0, ge=0, le=120, description="its date: months before the period's end")


_BLOCK_TYPES = {"medical": "medical.expense.incurred", "disasters": "disaster.loss.reported",
                "applications": "assistance.requested"}  # fmt: skip
# Without `when`, a block's event happened when one of these is non-zero (or, for house damage, not "none").
_HAPPENED = {"medical": ("out_of_pocket", "total_cost"), "disasters": ("economic_loss", "house_damage"),
             "applications": ("reason",)}  # fmt: skip


class PanelMapping(BaseModel):
    """How one panel file becomes each household's events for each period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(pattern=r"^/\S+$")
    household_id: str = Field(description="column with the household id")
    period: str = Field(description="column with the period the row's figures cover")
    period_format: str = Field(default="%Y", description="%Y: a whole year; %Y-%m or %Y%m: a month")
    region_code: str | None = Field(default=None, pattern=r"^\d{12}$", description="one region for every row")
    money_unit: Literal["yuan", "fen"] = "yuan"
    income_per_person: bool = Field(default=False, description="income columns are per person: × members")
    registration: dict[str, str] = Field(default_factory=dict, description="household.registered field → column")
    constants: dict[str, Any] = Field(default_factory=dict, description="registration fields with a fixed value")
    codes: dict[str, dict[str, str]] = Field(default_factory=dict, description="registration field → code table")
    incomes: dict[str, str] = Field(min_length=1, description="income source → column of that period's net income")
    medical: list[EventBlock] = Field(default_factory=list, description="medical.expense.incurred blocks")
    disasters: list[EventBlock] = Field(default_factory=list, description="disaster.loss.reported blocks")
    applications: list[EventBlock] = Field(default_factory=list, description="assistance.requested blocks")
    line: LineRule | None = None

    @classmethod
    def load(cls, path: Path) -> PanelMapping:
        """Read and check a panel mapping; errors name the file and key."""
        try:
            mapping = cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
        problems = mapping.problems()
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        return mapping

    def problems(self) -> list[str]:
        """What makes the mapping unusable, each naming its key (empty when it is sound)."""
        found = []
        unknown = set(self.incomes) - set(SOURCES)
        if unknown:
            found.append(f"incomes: {sorted(unknown)} are not income sources ({', '.join(SOURCES)})")
        if self.region_code is None and "region_code" not in self.registration:
            found.append("region_code: give one for every row, or a registration column for it")
        fields = set(DATA_MODELS["household.registered"].model_fields)
        found += [f"registration: {name!r} is not a household.registered field"
                  for name in sorted({*self.registration, *self.constants, *self.codes} - fields)]  # fmt: skip
        for kind, event_type in _BLOCK_TYPES.items():
            fields = set(DATA_MODELS[event_type].model_fields) - {"household_id"}
            for number, block in enumerate(getattr(self, kind)):
                named = {*block.columns, *block.constants, *block.codes}
                found += [f"{kind}[{number}]: {name!r} is not a field of {event_type}"
                          for name in sorted(named - fields)]  # fmt: skip
        return found

    def columns_named(self) -> dict[str, str]:
        """Every column the mapping reads → the key that names it."""
        named = {self.household_id: "household_id", self.period: "period"}
        named |= {column: f"registration.{name}" for name, column in self.registration.items()}
        named |= {column: f"incomes.{source}" for source, column in self.incomes.items()}
        for kind in _BLOCK_TYPES:
            for number, block in enumerate(getattr(self, kind)):
                named |= {column: f"{kind}[{number}].columns.{name}" for name, column in block.columns.items()}
                if block.when:
                    named[block.when] = f"{kind}[{number}].when"
        return named

    def missing_columns(self, header: list[str]) -> list[str]:
        """The columns the mapping names that the file's header lacks, each with the key naming it."""
        present = set(header)
        return [f"{column!r} ({key})" for column, key in self.columns_named().items() if column not in present]

    def yearly(self) -> bool:
        """Whether a row's figures cover a whole year."""
        return self.period_format == "%Y"

    def events(self, file_name: str, raw: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
        """The row's CloudEvents (registration, incomes, then bills, disasters, applications) and its total income;
        raises RowError naming the field at fault."""
        row = {key: ("" if str(value).strip().lower() in EMPTY else str(value).strip()) for key, value in raw.items()}
        end = as_of_date(self._period(file_name, row))
        period = f"{end:%Y}" if self.yearly() else f"{end:%Y-%m}"
        registered = {**({"region_code": self.region_code} if self.region_code else {}), **self.constants,
                      **self._cells(row, self.registration, self.codes)}  # fmt: skip
        members = registered.get("members", 1)
        incomes = []
        for source, column in self.incomes.items():
            amount = self._cells(row, {"amount": column}, {}).get("amount")
            if amount is None:
                continue
            if self.income_per_person and isinstance(members, int):
                amount = amount * members
            data = {"period": period, "amount": amount, "income_source": source}
            incomes.append(self._event("income.reported", data, file_name, row, f"-{source}", end))
        if not incomes:
            raise RowError(next(iter(self.incomes.values())), "no income for the period")
        total = sum(float(e["data"]["amount"]) for e in incomes)
        registered.setdefault("annual_net_income", _yuan(total if self.yearly() else total * 12))
        documents = [self._event("household.registered", registered, file_name, row, "-reg", end), *incomes]
        for kind, event_type in _BLOCK_TYPES.items():
            for number, block in enumerate(getattr(self, kind)):
                data = {**block.constants, **self._cells(row, block.columns, block.codes)}
                if kind == "medical" and "out_of_pocket" in data:
                    data.setdefault("total_cost", data["out_of_pocket"])
                if _happened(kind, block, row, data):
                    data["date"] = add_months(end, -block.months_before_end).isoformat()
                    documents.append(self._event(event_type, data, file_name, row, f"-{kind}{number}", end))
        return documents, total

    def _period(self, file_name: str, row: dict[str, str]) -> str:
        """The row's period as YYYY or YYYY-MM."""
        time = self._envelope("income.reported", {}).to_event(file_name, row)["time"]
        start = date.fromisoformat(time[:10])
        return f"{start:%Y}" if self.yearly() else f"{start:%Y-%m}"

    def _cells(self, row: dict[str, str], columns: dict[str, str], codes: dict[str, dict[str, str]]) -> dict[str, Any]:
        """Event field → the converted value of its column (empty cells left out); RowError names the field."""
        data: dict[str, Any] = {}
        for name, column in columns.items():
            cell = row.get(column, "")
            if not cell:
                continue
            if name in codes:
                if cell not in codes[name]:
                    known = ", ".join(f"{code} → {word}" for code, word in codes[name].items())
                    raise RowError(name, f"{cell!r} (column {column}) is not in its code table ({known})")
                data[name] = codes[name][cell]
            else:
                data[name] = self._convert(name, column, cell)
        return data

    def _convert(self, name: str, column: str, cell: str) -> Any:
        if name in _MONEY or name in _COUNTS:
            try:
                number = float(cell.replace(",", ""))
            except ValueError as exc:
                raise RowError(name, f"{cell!r} (column {column}) is not a number") from exc
            if not math.isfinite(number):
                raise RowError(name, f"{cell!r} (column {column}) is not a finite number")
            if name in _COUNTS:
                if number != int(number):
                    raise RowError(name, f"{cell!r} (column {column}) is not a whole number")
                return int(number)
            return number / 100 if self.money_unit == "fen" else number  # rounded to the fen once in the event
        if name in {"inpatient", "housing_safe", "water_safe"}:
            return _yes(name, column, cell)
        return cell

    def _event(self, event_type: str, data: dict[str, Any], file_name: str, row: dict[str, str], suffix: str,
               end: date) -> dict[str, Any]:  # fmt: skip
        """The CloudEvent, known at the end of its period (never earlier than the figures it carries)."""
        data = {name: _yuan(value) if name in _MONEY and isinstance(value, float) else value
                for name, value in data.items()}  # fmt: skip
        event = self._envelope(event_type, data).to_event(file_name, row)
        return {**event, "id": event["id"] + suffix, "time": f"{end.isoformat()}T00:00:00+08:00"}

    def _envelope(self, event_type: str, data: dict[str, Any]) -> Mapping:
        return Mapping(source=self.source, event_type=event_type, row_key=[self.household_id, self.period],  # type: ignore[arg-type]
                       columns={"household_id": self.household_id}, date_format=self.period_format,
                       time_column=self.period, constants=data)  # fmt: skip


def _yuan(value: float) -> float | int:
    """Money rounded to the fen (surveys carry more decimals than the contract's two)."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


def _yes(name: str, column: str, cell: str) -> bool:
    """A yes/no cell: words (1/0, true/false, yes/no, 是/否) or a count (non-zero is yes)."""
    word = cell.lower()
    if word in _YES or word in _NO:
        return word in _YES
    try:
        return float(word) != 0
    except ValueError as exc:
        raise RowError(name, f"{cell!r} (column {column}) is neither yes/no nor a number") from exc


def _happened(kind: str, block: EventBlock, row: dict[str, str], data: dict[str, Any]) -> bool:
    """Whether the block's event happened in the row's period: its `when` column says so, else a figure is non-zero."""
    if block.when is not None:
        cell = row.get(block.when, "")
        return bool(cell) and _yes(block.when, block.when, cell)
    return any(data.get(name) not in (None, 0, "none") for name in _HAPPENED[kind])
