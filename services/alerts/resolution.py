"""Risk elimination (风险消除): the criteria a case must meet before the county may mark it resolved (with the policy's
switch, a measure answering each of its confirmed risk types too: 分层分类帮扶).

"Income above the line for N months" is read from the household's score timeline (what the alerts
store keeps from every score, in arrival order): take the trailing run of scores whose per-capita
income is at or above their monitoring line; the run lasts from the calendar month of its first
score's event time to the calendar month of the latest score's event time. A score below the line,
or one without figures, ends a run. A household whose latest score is below the line has 0 months.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.alerts.causes import unanswered
from services.common.alerts import Alert
from services.common.months import month_index
from services.common.policy import PolicyValues


def months_above_line(timeline: list[dict[str, Any]]) -> int:
    """Whole calendar months the trailing run of at-or-above-the-line scores spans (see the module doc)."""
    run: list[dict[str, Any]] = []
    for entry in reversed([e for e in timeline if e.get("kind") == "score"]):
        income, line, at = entry.get("per_capita_income"), entry.get("monitoring_line"), entry.get("event_time")
        if income is None or line is None or at is None or income < line:
            break
        run.append(entry)
    if not run:
        return 0
    return month_index(run[0]["event_time"]) - month_index(run[-1]["event_time"])


def unmet_criteria(alert: Alert, household: dict[str, Any] | None, policy: PolicyValues, now: datetime) -> list[str]:
    """Every resolution criterion the case does not meet yet, in words; empty when it may be resolved."""
    unmet: list[str] = []
    months = months_above_line((household or {}).get("timeline", []))
    if months < policy.resolution_income_months:
        unmet.append(f"income at or above the line for {months} month(s); {policy.resolution_income_months} needed")
    monitored = now - alert.confirmed_at if alert.confirmed_at else None
    if monitored is None or monitored < policy.resolution_monitored_for:
        unmet.append(f"monitored for {monitored or 0} since confirmation; {policy.resolution_monitored_for} needed")
    if len(alert.measures) < policy.resolution_min_measures:
        unmet.append(f"{len(alert.measures)} assistance measure(s); {policy.resolution_min_measures} needed")
    if policy.resolution_requires_labour:
        labourers = ((household or {}).get("figures") or {}).get("labourers")
        if labourers is None:
            unmet.append("the household's labourers are unknown: no score has reported them")
        elif labourers < 1:
            unmet.append("the household has no labour: it stays monitored with safety-net assistance")
    if policy.resolution_requires_matching_measures:
        unmet += unanswered(alert, policy)
    return unmet
