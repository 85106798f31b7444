"""`make drills`: run the fault drills, print their recovery times, end with `drills: N passed, M failed`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.table import Table

from tests.infra import ROOT

RESULTS = ROOT / "bench" / "results" / "drills.json"


class Outcomes:
    """A pytest plugin keeping each drill's outcome and what it recorded (events, recovery_s)."""

    def __init__(self) -> None:
        self._reports: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note each phase: a drill passes when its call passed and no phase (setup, call, teardown) failed."""
        entry = self._reports.setdefault(report.nodeid.split("::")[-1], {"called": False, "failed": False})
        entry.update(dict(report.user_properties))
        entry["called"] |= report.when == "call" and report.passed
        entry["failed"] |= report.failed

    def drills(self) -> dict[str, dict[str, Any]]:
        """Each drill's outcome ("passed" or "failed", a skip counting as failed) and recorded properties."""
        return {
            name: {
                "outcome": "passed" if entry["called"] and not entry["failed"] else "failed",
                **{key: value for key, value in entry.items() if key not in ("called", "failed")},
            }
            for name, entry in self._reports.items()
        }


def table(drills: dict[str, dict[str, Any]]) -> Table:
    """The drills and their recovery times as a table (rich)."""
    shown = Table(title="drills")
    shown.add_column("drill")
    shown.add_column("outcome")
    shown.add_column("recovery (s)", justify="right")
    for name, entry in drills.items():
        recovery = entry.get("recovery_s")
        outcome = entry["outcome"]
        shown.add_row(
            name, outcome, "-" if recovery is None else str(recovery), style=None if outcome == "passed" else "red"
        )
    return shown


def main(args: list[str]) -> int:
    """Run the drills through pytest, write bench/results/drills.json, print the table and the closing line."""
    outcomes = Outcomes()
    code = pytest.main(["-m", "drills", "-n", "0", str(Path(__file__).parent), *args], [outcomes])
    drills = outcomes.drills()
    passed = sum(entry["outcome"] == "passed" for entry in drills.values())
    failed = len(drills) - passed
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"finished_at": datetime.now(UTC).isoformat(), "passed": passed, "failed": failed, "drills": drills}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console = Console()
    console.print()
    console.print(table(drills))
    console.print("(recovery: seconds from the restart until every household is right)", highlight=False)
    console.print(f"results: {RESULTS.relative_to(ROOT)}", highlight=False)
    print(f"drills: {passed} passed, {failed} failed", flush=True)  # the last line, plain: CI and issues read it
    return 0 if code == 0 and failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
