"""What the bench records: headline figures, a reason for each missing one, and per-run details."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Results:
    """Figures by name (None when not measured, with the reason in `notes`) and raw details per phase."""

    figures: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def put(self, name: str, value: float | None, note: str | None = None) -> None:
        """Record one figure; a None value must come with the reason."""
        self.figures[name] = value
        if note:
            self.notes[name] = note
        elif value is None:
            self.notes.setdefault(name, "not measured")

    def missing(self, names: list[str], reason: str) -> None:
        """Record figures that could not be measured, with the same reason."""
        for name in names:
            if self.figures.get(name) is None:
                self.put(name, None, reason)
