"""Department file mappings: which column feeds which event field, in which unit and date format."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.common.events import DATA_MODELS, EventType

_MONEY_FIELDS = {"amount", "total_cost", "out_of_pocket", "economic_loss", "annual_net_income"}
_INTEGER_FIELDS = {"members", "labourers", "disabled_members", "chronic_ill_members", "students"}
_BOOLEAN_WORDS = {"1": True, "true": True, "是": True, "y": True, "0": False, "false": False, "否": False, "n": False}


class RowError(ValueError):
    """A row that cannot become an event; `field` names the event field (or column) at fault."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Mapping(BaseModel):
    """How one department's file becomes CloudEvents of one type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(pattern=r"^/\S+$")
    event_type: EventType
    row_key: list[str] = Field(min_length=1, description="columns that identify a row across re-sends")
    columns: dict[str, str] = Field(min_length=1, description="event field → column header")
    money_unit: Literal["yuan", "fen"] = "yuan"
    date_format: str = "%Y-%m-%d"
    time_column: str | None = Field(default=None, description="column with the event time (default: the date field)")
    timezone: str = "+08:00"
    constants: dict[str, Any] = Field(default_factory=dict, description="event fields with a fixed value")

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """Read and check a mapping file; errors name the file and key."""
        try:
            mapping = cls.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (tomllib.TOMLDecodeError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from exc
        unknown = set(mapping.columns) - set(DATA_MODELS[mapping.event_type].model_fields)
        if unknown:
            raise ValueError(f"{path}: columns: {sorted(unknown)} are not fields of {mapping.event_type}")
        return mapping

    def event_id(self, file_name: str, row: dict[str, str]) -> str:
        """Deterministic id from source, file and row key: a re-sent row is a duplicate."""
        key = "\x1f".join([self.source, file_name, *(str(row.get(column, "")) for column in self.row_key)])
        return "imp-" + hashlib.sha256(key.encode()).hexdigest()[:40]

    def to_event(self, file_name: str, row: dict[str, str]) -> dict[str, Any]:
        """The CloudEvent for one row; raises RowError naming the field at fault."""
        data: dict[str, Any] = dict(self.constants)
        for field, column in self.columns.items():
            if column not in row:
                raise RowError(column, "column missing from the file")
            raw = str(row[column] or "").strip()
            if raw:
                data[field] = self._convert(field, raw)
        return {
            "specversion": "1.0",
            "id": self.event_id(file_name, row),
            "source": self.source,
            "type": self.event_type,
            "time": f"{self._event_date(row, data)}T00:00:00{self.timezone}",
            "datacontenttype": "application/json",
            "data": data,
        }

    def _event_date(self, row: dict[str, str], data: dict[str, Any]) -> str:
        if self.time_column is None:
            if "date" not in data:
                raise RowError("date", "required: the event time comes from it")
            return str(data["date"])
        if not str(row.get(self.time_column) or "").strip():
            raise RowError(self.time_column, "required: the event time comes from it")
        return str(self._convert("date", str(row[self.time_column]).strip()))

    def _convert(self, field: str, raw: str) -> Any:
        if field in _MONEY_FIELDS:
            try:
                value = Decimal(raw.replace(",", ""))
            except InvalidOperation as exc:
                raise RowError(field, f"{raw!r} is not an amount") from exc
            value = value / 100 if self.money_unit == "fen" else value
            return float(value) if value != value.to_integral() else int(value)
        if field == "date":
            try:
                return datetime.strptime(raw, self.date_format).date().isoformat()
            except ValueError as exc:
                raise RowError(field, f"{raw!r} does not match the date format {self.date_format}") from exc
        if field in _INTEGER_FIELDS:
            if not raw.isdigit():
                raise RowError(field, f"{raw!r} is not a whole number")
            return int(raw)
        if raw.lower() in _BOOLEAN_WORDS and field in {"inpatient", "housing_safe", "water_safe"}:
            return _BOOLEAN_WORDS[raw.lower()]
        return raw
