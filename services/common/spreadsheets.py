"""CSV files people open in Excel or WPS (ledgers, rejects reports, exports): a text cell a spreadsheet would run as
a formula (it begins with = + - @, a tab or a carriage return) is written behind a single quote, so it shows as
text (OWASP, CSV injection). Plain numbers, negative ones included, are left as they are."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: Any) -> Any:
    """The cell as a spreadsheet should show it: text that would start a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class SpreadsheetWriter:
    """csv.writer whose every cell goes through `safe_cell`."""

    def __init__(self, handle: _Writable):
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write every row."""
        for row in rows:
            self.writerow(row)


def spreadsheet_writer(handle: _Writable) -> SpreadsheetWriter:
    """A CSV writer for files people open in a spreadsheet."""
    return SpreadsheetWriter(handle)
