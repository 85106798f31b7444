"""The live shadow report: how a shadow candidate's assessments on `scores.shadow` differ from the active model's."""

from __future__ import annotations

from typing import Any

import numpy as np

from services.common import topics
from services.common.kafka import TopicToEnd
from services.common.scores import ShadowScore


def latest_by_household(scores: list[ShadowScore]) -> dict[str, ShadowScore]:
    """Each household's most recent shadow score (the topic keeps every one)."""
    latest: dict[str, ShadowScore] = {}
    for score in scores:
        kept = latest.get(score.household_id)
        if kept is None or score.scored_at >= kept.scored_at:
            latest[score.household_id] = score
    return latest


def by_county(rows: list[ShadowScore], within: str = "") -> list[dict[str, Any]]:
    """Where the candidate would change levels: per county (the first six digits of the region code) of the
    households under the region prefix `within`, how many would change level and to which; most changes first."""
    counties: dict[str, dict[str, Any]] = {}
    for s in (row for row in rows if row.region_code.startswith(within)):
        county = counties.setdefault(s.region_code[:6], {"county": s.region_code[:6], "households": 0, "changed": 0,
                                                         "to_red": 0, "to_yellow": 0, "to_green": 0,
                                                         "levels_active_to_candidate": {}})  # fmt: skip
        county["households"] += 1
        if s.active_level != s.candidate_level:
            county["changed"] += 1
            county[f"to_{s.candidate_level}"] += 1
        levels = county["levels_active_to_candidate"]
        levels[f"{s.active_level}->{s.candidate_level}"] = levels.get(f"{s.active_level}->{s.candidate_level}", 0) + 1
    return sorted(counties.values(), key=lambda c: (-c["changed"], c["county"]))


def compare(scores: list[ShadowScore], candidate: str, within: str = "") -> dict[str, Any]:
    """Agreement between the candidate and the active model on each household's latest assessment; `by_county`
    only over the households under the region prefix `within` (the figures above it are national)."""
    latest = latest_by_household([s for s in scores if s.candidate_version == candidate])
    if not latest:
        return {"candidate": candidate, "households": 0, "note": "no shadow score yet for this candidate",
                "region": within, "by_county": []}  # fmt: skip
    rows = list(latest.values())
    alert_active = np.array([s.active_level != "green" for s in rows])
    alert_candidate = np.array([s.candidate_level != "green" for s in rows])
    pairs = [(s.active_probability, s.candidate_probability) for s in rows]
    both = [(a, c) for a, c in pairs if a is not None and c is not None]
    levels: dict[str, int] = {}
    for s in rows:
        levels[f"{s.active_level}->{s.candidate_level}"] = levels.get(f"{s.active_level}->{s.candidate_level}", 0) + 1
    return {
        "candidate": candidate,
        "active_versions": sorted({str(s.active_version) for s in rows}),
        "households": len(rows),
        "agreement": float((alert_active == alert_candidate).mean()),
        "alerts_active": int(alert_active.sum()),
        "alerts_candidate": int(alert_candidate.sum()),
        "candidate_only": int((alert_candidate & ~alert_active).sum()),
        "active_only": int((alert_active & ~alert_candidate).sum()),
        "levels_active_to_candidate": dict(sorted(levels.items())),
        "mean_abs_probability_difference": float(np.mean([abs(a - c) for a, c in both])) if both else None,
        "region": within,
        "by_county": by_county(rows, within),
    }


def live_report(
    bootstrap: str, candidate: str, topic: str = topics.SHADOW_SCORES, newest: int | None = None, within: str = ""
) -> dict[str, Any]:
    """Read `scores.shadow` to its end (or its `newest` scores) and compare `candidate` with the active model."""
    scores = TopicToEnd(bootstrap, topic, newest=newest)
    return compare([ShadowScore.model_validate_json(raw) for raw in scores], candidate, within)
