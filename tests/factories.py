"""Builders of v1 CloudEvents for tests."""

from __future__ import annotations

import itertools
from typing import Any

from services.common.identity import check_digit

_ids = itertools.count(1)


def resident_id(first17: str = "53232819800101123") -> str:
    """A resident ID number with a correct GB 11643 check digit."""
    return first17 + check_digit(first17)


def cloud_event(event_type: str, data: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    """A structured-mode CloudEvent with a fresh id."""
    event = {
        "specversion": "1.0",
        "id": f"evt-{next(_ids)}",
        "source": "/civil-affairs/532328",
        "type": event_type,
        "time": "2025-03-01T08:00:00+08:00",
        "datacontenttype": "application/json",
        "data": data,
    }
    event.update(attributes)
    return event


def registration(household_id: str, annual_net_income: float, members: int = 4, **extra: Any) -> dict[str, Any]:
    """household.registered for a household in Yuanmou county (2025 line: 8,700)."""
    time = extra.pop("time", "2025-03-01T08:00:00+08:00")
    data = {
        "household_id": household_id,
        "region_code": extra.pop("region_code", "532328101001"),
        "members": members,
        "labourers": min(2, members),
        "category": "poverty_exited",
        "annual_net_income": annual_net_income,
        **extra,
    }
    return cloud_event("household.registered", data, time=time)


def income(household_id: str, period: str, amount: float, source: str = "wage", **attributes: Any) -> dict[str, Any]:
    """income.reported for one month and source."""
    data = {"household_id": household_id, "period": period, "amount": amount, "income_source": source}
    return cloud_event("income.reported", data, **{"time": f"{period}-28T18:00:00+08:00", **attributes})
