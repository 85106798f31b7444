"""A simulated cohort as v1 CloudEvents (what departments would publish) and its labels (the ground truth)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from services.analytics.labels import Outcome, as_of_date
from services.analytics.simulator import CAUSES, HAZARDS, RISK_TYPE_OF_CAUSE, WARMUP, Cohort, SimConfig
from services.common.months import month_shift

DAMAGE = ("none", "minor", "severe", "collapsed")
DAMAGE_COST = (0.0, 3000.0, 20000.0, 60000.0)
Event = dict[str, Any]


def cloudevent(event_id: str, source: str, event_type: str, time: str, data: dict[str, Any]) -> Event:
    """A structured-mode CloudEvent."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def _day(rng: np.random.Generator, month: str, latest: int = 28) -> str:
    return f"{month}-{int(rng.integers(1, latest + 1)):02d}"


def _later(day: str, days: int) -> str:
    """A date `days` after `day` (kept simple: rolls into the next month after the 28th)."""
    number = int(day[8:]) + days
    return (
        day
        if days == 0
        else (f"{day[:8]}{number:02d}" if number <= 28 else f"{month_shift(day[:7], 1)}-{number - 28:02d}")
    )


def household_events(config: SimConfig, cohort: Cohort, i: int, rng: np.random.Generator) -> list[Event]:
    """Every event of household `i`, sorted by event time."""
    hid, region, county, months = cohort.ids[i], cohort.region[i], cohort.region[i][:6], config.month_names
    civil, medical, emergency = (
        f"/civil-affairs/{county}",
        f"/medical-insurance/{county}",
        f"/emergency-management/{county}",
    )
    members, events = int(cohort.members[i]), []
    disabled_at = int(cohort.disability_month[i]) - WARMUP  # history month, negative: before (or never)

    def registration(t: int, when: str, annual: float) -> Event:
        lost = int(cohort.disability_month[i]) >= 0 and t >= disabled_at
        data = {
            "household_id": hid,
            "region_code": region,
            "members": members,
            "labourers": int(cohort.labourers[i]) - int(lost),
            "category": cohort.category[i],
            "annual_net_income": round(float(annual), 2),
            "disabled_members": min(members, int(cohort.disabled[i]) + int(lost)),
            "chronic_ill_members": int(cohort.chronic[i]),
            "students": int(cohort.students[i]),
            "housing_safe": True,
            "water_safe": bool(rng.random() > 0.03),
        }
        return cloudevent(f"reg-{hid}-{months[t]}", civil, "household.registered", when, data)

    previous_year = cohort.income[i, :WARMUP].sum() * rng.uniform(0.9, 1.1)
    events.append(registration(0, f"{months[0]}-05T09:00:00+08:00", previous_year))
    report_rate = 0.95 if rng.random() < 0.8 else 0.6
    source = "wage" if cohort.labourers[i] > 0 else "agriculture"
    for t, month in enumerate(months):
        k = WARMUP + t
        if t > 0 and month.endswith("-01"):
            events.append(registration(t, f"{month}-10T09:00:00+08:00", cohort.income[i, k - 12 : k].sum()))
        if t == disabled_at and t > 0:
            events.append(registration(t, f"{month}-20T09:00:00+08:00", cohort.income[i, k - 12 : k].sum()))
        if rng.random() < report_rate:
            data = {"household_id": hid, "period": month, "amount": float(cohort.income[i, k]), "income_source": source}
            when = f"{_day(rng, month_shift(month, 1), 15)}T10:00:00+08:00"
            events.append(cloudevent(f"inc-{hid}-{month}", civil, "income.reported", when, data))
        if cohort.out_of_pocket[i, k] > 0:
            day, critical = _day(rng, month), bool(cohort.critical[i, k])
            data = {
                "household_id": hid,
                "date": day,
                "total_cost": float(cohort.total_cost[i, k]),
                "out_of_pocket": float(cohort.out_of_pocket[i, k]),
                "illness": "critical" if critical else ("chronic" if cohort.chronic[i] else "acute"),
                "inpatient": critical,
            }
            when = f"{_later(day, int(rng.integers(0, 10)))}T17:00:00+08:00"
            events.append(cloudevent(f"med-{hid}-{month}", medical, "medical.expense.incurred", when, data))
        if cohort.disaster[i, k] > 0:
            day, damage = _day(rng, month), int(cohort.damage[i, k])
            loss = cohort.income[i, k] * 12 * rng.uniform(0.02, 0.15) + DAMAGE_COST[damage] * rng.uniform(0.7, 1.3)
            data = {
                "household_id": hid,
                "date": day,
                "hazard": HAZARDS[int(cohort.disaster[i, k]) - 1],
                "house_damage": DAMAGE[damage],
                "economic_loss": round(float(loss), 2),
            }
            when = f"{_later(day, int(rng.integers(1, 7)))}T12:00:00+08:00"
            events.append(cloudevent(f"dis-{hid}-{month}", emergency, "disaster.loss.reported", when, data))
        if _shock_onset(cohort, i, k) and rng.random() < config.shocks.application_rate and t + 1 < len(months):
            day = _day(rng, months[t + 1])
            data = {"household_id": hid, "date": day, "reason": "家中遭遇变故，收入减少，申请帮扶"}
            events.append(
                cloudevent(f"app-{hid}-{month}", civil, "assistance.requested", f"{day}T15:00:00+08:00", data)
            )
    return sorted(events, key=lambda e: (e["time"], e["id"]))


def _shock_onset(cohort: Cohort, i: int, k: int) -> bool:
    return any(
        cohort.losses[name][i, k] > 0 and (k == 0 or cohort.losses[name][i, k - 1] == 0) for name in cohort.losses
    )


def cohort_outcomes(config: SimConfig, cohort: Cohort, i: int) -> list[Outcome]:
    """Household `i`'s labels: below or above the line (true 12-month income after medical costs) at each month end,
    a fall naming the risk type of its simulated cause."""
    hid = cohort.ids[i]
    return [
        Outcome(hid, as_of_date(month), "below_line", RISK_TYPE_OF_CAUSE[CAUSES[cohort.cause[i, t]]])
        if cohort.below[i, t]
        else Outcome(hid, as_of_date(month), "above_line")
        for t, month in enumerate(config.month_names)
    ]


def cohort_events(config: SimConfig, cohort: Cohort, block: int) -> Iterator[tuple[str, list[Event]]]:
    """(household_id, its events) for every household of the cohort."""
    rng = np.random.default_rng([config.seed, 200 + block])
    for i, hid in enumerate(cohort.ids):
        yield hid, household_events(config, cohort, i, rng)
