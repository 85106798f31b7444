"""Household panels (CSV, XLSX, JSONL: one row per household and period) into v1 events and labels, through a TOML
mapping (`panel_mapping.py`). A year's income is one `income.reported` with period YYYY."""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import ValidationError

from services.analytics.history import Reject, TooManyRejects, parse_event, write_rejects
from services.analytics.labels import Outcome, as_of_date, write_outcomes
from services.analytics.panel_mapping import PanelMapping
from services.analytics.training_set import replay
from services.common.events import HouseholdEvent
from services.common.policy import PolicyBook
from services.ingest.importer import read_rows
from services.ingest.mapping import RowError

__all__ = ["PanelImport", "PanelMapping", "import_panel", "line_outcomes", "line_policies", "read_panel"]


@dataclass
class PanelImport:
    """What an import produced: valid events per household, rejects, and each period's per-capita incomes."""

    events: dict[str, list[HouseholdEvent]] = field(default_factory=lambda: defaultdict(list))
    documents: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    per_capita: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # period → values
    rows: int = 0


def check_columns(path: Path, mapping: PanelMapping) -> None:
    """Refuse a file whose first row lacks a column the mapping names (before anything is read or written)."""
    head = next(read_rows(path), None)
    if head is None:
        raise ValueError(f"{path.name}: no rows")
    missing = mapping.missing_columns(list(head))
    if missing:
        raise ValueError(f"{path.name} lacks column(s) the mapping names: {', '.join(missing)}; "
                         f"its columns: {', '.join(head)}")  # fmt: skip


def _rows(path: Path, mapping: PanelMapping) -> Iterator[tuple[int, dict[str, str]]]:
    """The file's rows, numbered as a spreadsheet shows them, once its header holds every column the mapping names."""
    check_columns(path, mapping)
    first = 1 if path.suffix.lower() in (".jsonl", ".ndjson") else 2  # spreadsheet rows count the header
    yield from enumerate(read_rows(path), start=first)


def read_panel(path: Path, mapping: PanelMapping, max_rejects: int = 0, into: PanelImport | None = None) -> PanelImport:
    """Every row as validated v1 events; a bad row is rejected whole (line, household, field, reason)."""
    found = into if into is not None else PanelImport()
    for number, row in _rows(path, mapping):
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
    value, quantile = rule.value, rule.quantile or 0.0
    why = f"{value:g}, fixed" if value is not None else f"{quantile:g} quantile"
    base = tomllib.loads(template.read_text(encoding="utf-8"))
    years: dict[str, list[float]] = defaultdict(list)
    for period, values in found.per_capita.items():
        years[period[:4]] += values
    out.mkdir(parents=True, exist_ok=True)
    lines = {}
    for year, values in sorted(years.items()):
        lines[year] = value if value is not None else round(float(np.quantile(np.asarray(values), quantile)), 2)
        doc = {**base, "version": f"panel-{year}", "year": int(year)}
        doc["regions"] = {**base.get("regions", {}), prefix: {"monitoring_line": lines[year]}}
        (out / f"{year}.toml").write_text(_toml(doc, f"{why} ({year})", template), "utf-8")
    return lines


def _toml(doc: dict[str, Any], why: str, template: Path) -> str:
    header = (
        f"# Written by `cli import-panel`: the monitoring line is the panel's per-capita income line: {why};\n"
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
    check_columns(path, mapping)
    found = PanelImport()
    rejects_path = events_out.with_name(events_out.name + ".rejects.csv")
    try:
        read_panel(path, mapping, max_rejects, found)
    finally:
        write_rejects(rejects_path, found.rejects)
    lines = line_policies(found, mapping, policy_dir, policy_out) if policy_out else {}
    policies = PolicyBook.load(policy_out or policy_dir)
    policies.require_covered((as_of_date(period) for period in found.per_capita), "period")
    with events_out.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(doc, ensure_ascii=False) + "\n" for doc in found.documents)
    outcomes = line_outcomes(found, policies)
    write_outcomes(labels_out, outcomes)
    return {"rows": found.rows, "households": len(found.events), "events": len(found.documents),
            "labels": len(outcomes), "below_line": sum(o.outcome == "below_line" for o in outcomes),
            "rejected": len(found.rejects), "rejects": str(rejects_path), "lines": lines}  # fmt: skip
