"""Drift monitoring at the source: the first model score of a household's month carries the bins of its model inputs
and score against the reference saved with the model (the alerts service counts them per county and month)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from services.common.score_records import MonitoringRecord
from services.scoring.model import RiskModel
from services.scoring.state import HouseholdState

CHINA = timezone(timedelta(hours=8))


def bins(model: RiskModel, rows: list[int], matrix: np.ndarray, probabilities: np.ndarray) -> dict[int, list[int]]:
    """Per assessed row, its bins (every feature of the model, then the score); empty without a reference."""
    edges = model.reference_edges()
    if edges is None or not rows:
        return {}
    features, score = edges
    found = np.empty((len(rows), len(features) + 1), dtype=np.int64)
    for j, cut in enumerate(features):
        found[:, j] = np.searchsorted(cut, matrix[:, j], side="right")
    found[:, -1] = np.searchsorted(score, probabilities, side="right")
    return dict(zip(rows, found.tolist(), strict=True))


def monthly(
    state: HouseholdState, version: str, event_time: datetime, row: list[int] | None
) -> tuple[MonitoringRecord | None, str]:
    """The record to carry (None unless this is the household's first score by `version` in its month) and the
    state's new `monitored` tag."""
    local = event_time.astimezone(CHINA)
    tag = f"{version}|{local.year}-{local.month:02d}"
    if row is None or state.monitored == tag:
        return None, state.monitored
    return MonitoringRecord(tag[len(version) + 1 :], row[:-1], row[-1]), tag
