"""Real development data shipped by a package: the NLSY wage panel (linearmodels), as a panel file to import."""

from __future__ import annotations

import csv
import math
from pathlib import Path

WAGE_PANEL_COLUMNS = ("nr", "year", "wage_income", "hours", "educ", "married", "union")


def write_wage_panel(path: Path) -> int:
    """NLSY 1980-87 (545 men × 8 years) as CSV, one person = one household; wage_income = exp(lwage) × hours."""
    from linearmodels.datasets import wage_panel

    frame = wage_panel.load()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(WAGE_PANEL_COLUMNS)
        for row in frame.itertuples(index=False):
            income = round(math.exp(float(row.lwage)) * int(row.hours), 2)
            writer.writerow((row.nr, row.year, income, row.hours, row.educ, row.married, row.union))
    return len(frame)
