"""Household panels (CSV, XLSX, JSONL: one row per household and period) into v1 events and labels, through a TOML
mapping: columns → registration + income of the period. A year's income is one `income.reported` with period YYYY."""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.analytics.history import Reject, TooManyRejects, parse_event, write_rejects
from services.analytics.labels import Outcome, as_of_date, write_outcomes
from services.analytics.training_set import replay
from services.common.events import HouseholdEvent
from services.common.policy import PolicyBook
from services.ingest.importer import read_rows
from services.ingest.mapping import Mapping, RowError

SOURCES = ("wage", "agriculture", "business", "property", "transfer", "other")


class LineRule(BaseModel):
    """A monitoring line taken from the panel itself: each period's per-capita income at this quantile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantile: float = Field(gt=0, lt=1)
    region_prefix: str | None = Field(default=None, pattern=r"^\d{2,12}$", description="default: the region_code")
    template: str | None = Field(default=None, description="policy file whose other values apply (default: latest)")


class PanelMapping(BaseModel):
    """How one panel file becomes a household's registration and income for each period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(pattern=r"^/\S+$")
    household_id: str = Field(description="column with the household id")
    period: str = Field(description="column with the period the row's income covers")
    period_format: str = Field(default="%Y", description="%Y: a whole year; %Y-%m or %Y%m: a month")
    region_code: str | None = Field(default=None, pattern=r"^\d{12}$", description="one region for every row")
    money_unit: Literal["yuan", "fen"] = "yuan"
    registration: dict[str, str] = Field(default_factory=dict, description="household.registered field → column")
    constants: dict[str, Any] = Field(default_factory=dict, description="registration fields with a fixed value")
    incomes: dict[str, str] = Field(min_length=1, description="income source → column of that period's net income")
    line: LineRule | None = None

    @classmethod
    def load(cls, path: Path) -> PanelMapping:
        """Read and check a panel mapping; errors name the file and key."""
        try:
            mapping = cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
        unknown = set(mapping.incomes) - set(SOURCES)
        if unknown:
            raise ValueError(f"{path}: incomes: {sorted(unknown)} are not income sources ({', '.join(SOURCES)})")
        if mapping.region_code is None and "region_code" not in mapping.registration:
            raise ValueError(f"{path}: region_code: give one for every row, or a registration column for it")
        return mapping

    def yearly(self) -> bool:
        """Whether a row's income covers a whole year."""
        return self.period_format == "%Y"

    def _part(self, event_type: str, columns: dict[str, str], constants: dict[str, Any]) -> Mapping:
        return Mapping(source=self.source, event_type=event_type, row_key=[self.household_id, self.period],  # type: ignore[arg-type]
                       columns={"household_id": self.household_id, **columns}, money_unit=self.money_unit,
                       date_format=self.period_format, time_column=self.period, constants=constants)  # fmt: skip

    def events(self, file_name: str, row: dict[str, str]) -> tuple[list[dict[str, Any]], float]:
        """The row's CloudEvents (registration, then one income report per source with an amount) and its total
        income; raises RowError naming the field at fault."""
        start = as_date(self._part("income.reported", {}, {}).to_event(file_name, row)["time"])
        period = f"{start:%Y}" if self.yearly() else f"{start:%Y-%m}"
        end = as_of_date(period)
        incomes = []
        for source, column in self.incomes.items():
            event = self._part("income.reported", {"amount": column}, {"income_source": source}).to_event(
                file_name, row
            )
            if "amount" in event["data"]:
                event["data"]["period"] = period
                incomes.append(_at(event, f"{event['id']}-{source}", end))
        if not incomes:
            raise RowError(next(iter(self.incomes.values())), "no income for the period")
        total = sum(float(e["data"]["amount"]) for e in incomes)
        constants = {"region_code": self.region_code, **self.constants} if self.region_code else dict(self.constants)
        constants.setdefault("annual_net_income", round(total if self.yearly() else total * 12, 2))
        registration = self._part("household.registered", self.registration, constants).to_event(file_name, row)
        return [_at(registration, f"{registration['id']}-reg", end), *incomes], total


def as_date(time: str) -> date:
    """The date part of an event time."""
    return date.fromisoformat(time[:10])


def _at(event: dict[str, Any], event_id: str, end: date) -> dict[str, Any]:
    """The event, known at the end of its period (never earlier than the figures it carries)."""
    return {**event, "id": event_id, "time": f"{end.isoformat()}T00:00:00+08:00"}


@dataclass
class PanelImport:
    """What an import produced: valid events per household, rejects, and each period's per-capita incomes."""

    events: dict[str, list[HouseholdEvent]] = field(default_factory=lambda: defaultdict(list))
    documents: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    per_capita: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # period → values
    rows: int = 0


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    first = 1 if path.suffix.lower() in (".jsonl", ".ndjson") else 2  # spreadsheet rows count the header
    yield from enumerate(read_rows(path), start=first)


def read_panel(path: Path, mapping: PanelMapping, max_rejects: int = 0, into: PanelImport | None = None) -> PanelImport:
    """Every row as validated v1 events; a bad row is rejected whole (line, household, field, reason)."""
    found = into if into is not None else PanelImport()
    for number, row in _rows(path):
        found.rows += 1
        household = str(row.get(mapping.household_id, "")).strip()
        try:
            documents, total = mapping.events(path.name, row)
            events = [parse_event(doc) for doc in documents]
        except RowError as exc:
            found.rejects.append(Reject(number, household, exc.field, exc.reason))
        except ValidationError as exc:
            error = exc.errors()[0]
            found.rejects.append(Reject(number, household, ".".join(map(str, error["loc"])), error["msg"]))
        else:
            found.documents += documents
            found.events[events[0].household_id] += events
            members = events[0].data.members  # type: ignore[attr-defined]
            found.per_capita[str(documents[1]["data"]["period"])].append(total / members)
        if len(found.rejects) > max_rejects:
            first = found.rejects[0]
            raise TooManyRejects(
                f"{path.name}: more than {max_rejects} rejected row(s) (--max-rejects); first: line {first.line}, "
                f"household {first.household_id or '?'}, {first.field}: {first.reason}"
            )
    return found


def line_policies(found: PanelImport, mapping: PanelMapping, policy_dir: Path, out: Path) -> dict[str, float]:
    """Write a policy folder whose line for the panel's region is, each year, the mapping's per-capita quantile."""
    rule = mapping.line
    if rule is None:
        raise ValueError("the mapping has no [line] table: give the monitoring line as policy (--policy-dir)")
    prefix = rule.region_prefix or (mapping.region_code or "")[:6]
    if not prefix:
        raise ValueError("[line]: region_prefix is needed when the region code comes from a column")
    template = Path(rule.template) if rule.template else sorted(policy_dir.glob("*.toml"))[-1]
    base = tomllib.loads(template.read_text(encoding="utf-8"))
    years: dict[str, list[float]] = defaultdict(list)
    for period, values in found.per_capita.items():
        years[period[:4]] += values
    out.mkdir(parents=True, exist_ok=True)
    lines = {}
    for year, values in sorted(years.items()):
        lines[year] = round(float(np.quantile(values, rule.quantile)), 2)
        doc = {**base, "version": f"panel-{year}", "year": int(year)}
        doc["regions"] = {**base.get("regions", {}), prefix: {"monitoring_line": lines[year]}}
        (out / f"{year}.toml").write_text(_toml(doc, f"{rule.quantile:g} quantile of {year}", template), "utf-8")
    return lines


def _toml(doc: dict[str, Any], why: str, template: Path) -> str:
    header = (
        f"# Written by `cli import-panel`: the monitoring line is the panel's per-capita {why};\n"
        f"# every other value from {template}.\n"
    )
    return header + tomli_w.dumps(doc)


def line_outcomes(found: PanelImport, policies: PolicyBook) -> list[Outcome]:
    """Each household's standing at the end of every period it reported: below or above the line in force, from
    scoring's own figures (12-month income after rigid spending per person)."""
    outcomes = []
    for hid, events in found.events.items():
        days = sorted({as_of_date(str(e.data.period)) for e in events if e.type == "income.reported"})  # type: ignore[attr-defined]
        for day, snap in replay(events, days, policies).items():
            below = snap.features["after_rigid_to_line"] < 1
            outcomes.append(Outcome(hid, day, "below_line" if below else "above_line"))
    return sorted(outcomes)


def import_panel(
    path: Path, mapping: PanelMapping, events_out: Path, labels_out: Path, policy_dir: Path,
    policy_out: Path | None = None, max_rejects: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """Import a panel: events JSONL, labels, a rejects report next to the events, and (with a [line] rule) the
    policy folder of its lines. Returns the counts."""
    found = PanelImport()
    rejects_path = events_out.with_name(events_out.name + ".rejects.csv")
    try:
        read_panel(path, mapping, max_rejects, found)
    finally:
        write_rejects(rejects_path, found.rejects)
    with events_out.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in found.documents)
    lines = line_policies(found, mapping, policy_dir, policy_out) if policy_out else {}
    outcomes = line_outcomes(found, PolicyBook.load(policy_out or policy_dir))
    write_outcomes(labels_out, outcomes)
    return {"rows": found.rows, "households": len(found.events), "events": len(found.documents),
            "labels": len(outcomes), "below_line": sum(o.outcome == "below_line" for o in outcomes),
            "rejected": len(found.rejects), "rejects": str(rejects_path), "lines": lines}  # fmt: skip
