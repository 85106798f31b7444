"""Generated v1 CloudEvents: a county's registrations and monthly incomes, and households below the line."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

COUNTY = "532328"  # Yuanmou county, Yunnan: 2025 monitoring line 8,700 yuan per person (policy/2025.toml)
SOURCE = "/civil-affairs/532328"
INCOME_SOURCES = ("wage", "agriculture", "business", "property", "transfer", "other")


def _event(event_id: str, event_type: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def region_code(household: int, townships: int) -> str:
    """A village code in one of `townships` townships of the county."""
    return f"{COUNTY}{101 + household % townships:03d}{1 + household // townships % 4:03d}"


def registration(household_id: str, region: str, members: int, annual: float, event_id: str) -> dict[str, Any]:
    """household.registered of 2025-01-15."""
    data = {
        "household_id": household_id,
        "region_code": region,
        "members": members,
        "labourers": min(2, members),
        "category": "poverty_exited",
        "annual_net_income": annual,
    }
    return _event(event_id, "household.registered", "2025-01-15T09:00:00+08:00", data)


def income(household_id: str, index: int, amount: float, event_id: str) -> dict[str, Any]:
    """The index-th income report of a household: months of 2025 first, then the next income source."""
    month, source = 1 + index % 12, INCOME_SOURCES[index // 12 % len(INCOME_SOURCES)]
    period = f"2025-{month:02d}"
    data = {"household_id": household_id, "period": period, "amount": amount, "income_source": source}
    return _event(event_id, "income.reported", f"{period}-28T18:00:00+08:00", data)


def county(tag: str, households: int, events: int, townships: int = 3, seed: int = 7) -> Iterator[dict[str, Any]]:
    """`events` events over `households` households: every registration, then monthly incomes in waves.

    About one household in five lives below the line, as in the demo county. `tag` keeps ids unique per run.
    """
    rng = random.Random(seed)
    people = [rng.randint(1, 6) for _ in range(households)]
    annual = [round(rng.lognormvariate(9.3, 0.35) * n, 2) for n in people]
    emitted, wave = 0, 0
    while emitted < events:
        for n in range(households):
            if emitted == events:
                return
            household_id = f"{tag}{n:06d}"
            if wave == 0:
                yield registration(household_id, region_code(n, townships), people[n], annual[n], f"{tag}-{n}-r")
            else:
                amount = round(annual[n] / 12 * rng.uniform(0.85, 1.15), 2)
                yield income(household_id, wave - 1, amount, f"{tag}-{n}-{wave}")
            emitted += 1
        wave += 1


def below_line(tag: str, n: int, townships: int = 3) -> dict[str, Any]:
    """A new household of four with 9,600 yuan a year (2,400 per person): each raises one red alert."""
    return registration(f"{tag}{n:07d}", region_code(n, townships), 4, 9600, f"{tag}-{n}")
