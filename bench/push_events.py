"""A county's monthly push as departments send it: registrations, then one month of incomes and some medical bills."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

from bench.events import region_code

LINE = 8700.0  # policy/2025.toml, Yunnan: the line the county's registrations are measured against
BELOW_SHARE = 0.06  # households registered below the line
MEDICAL_SHARE = 0.03  # households with a medical bill in the month
_SIGMA = 0.45  # spread of log per-capita income
_Z = -1.5548  # standard normal quantile of BELOW_SHARE
_MU = math.log(LINE) - _Z * _SIGMA  # so that P(per capita < LINE) = BELOW_SHARE


def _event(event_id: str, source: str, event_type: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id, "source": source, "type": event_type, "time": time, "data": data}


def _household(tag: str, n: int, townships: int, rng: random.Random) -> tuple[str, str, int, float]:
    members = rng.randint(1, 6)
    per_capita = math.exp(rng.gauss(_MU, _SIGMA))
    return f"{tag}{n:07d}", region_code(n, townships), members, round(per_capita * members, 2)


def registrations(tag: str, households: int, townships: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """household.registered for every household (about BELOW_SHARE of them below the line)."""
    rng = random.Random(seed)
    for n in range(households):
        hid, region, members, annual = _household(tag, n, townships, rng)
        category = rng.choice(("poverty_exited", "ordinary", "monitored"))
        data = {"household_id": hid, "region_code": region, "members": members, "labourers": min(2, members),
                "category": category, "annual_net_income": annual}  # fmt: skip
        yield _event(f"{tag}-r{n}", "/civil-affairs/532328", "household.registered", "2025-01-15T09:00:00+08:00", data)


def month(tag: str, households: int, townships: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """One month: an income report per household, and a medical bill for about MEDICAL_SHARE of them."""
    rng, bills = random.Random(seed), random.Random(seed + 1)
    for n in range(households):
        hid, _, _, annual = _household(tag, n, townships, rng)
        amount = round(annual / 12 * bills.uniform(0.8, 1.1), 2)
        data = {"household_id": hid, "period": "2025-02", "amount": amount, "income_source": "wage"}
        yield _event(f"{tag}-i{n}", "/civil-affairs/532328", "income.reported", "2025-03-05T10:00:00+08:00", data)
        if bills.random() < MEDICAL_SHARE:
            paid = round(bills.lognormvariate(math.log(6000), 0.9), 2)
            bill = {
                "household_id": hid,
                "date": "2025-02-20",
                "total_cost": round(paid * 2.5, 2),
                "out_of_pocket": paid,
            }
            yield _event(f"{tag}-m{n}", "/medical-insurance/532328", "medical.expense.incurred",
                         "2025-02-25T10:00:00+08:00", bill)  # fmt: skip
