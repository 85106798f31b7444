"""Drift monitoring at the source: the first model score of a household's month carries the bins of its model inputs
and score against the reference saved with the model (the alerts service counts them per county and month)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np

from services.common.china_time import CHINA
from services.common.score_records import MonitoringRecord
from services.scoring.model import RiskModel
from services.scoring.state import HouseholdState

CHINA_OFFSET = CHINA.utcoffset(None)
CHINA_OFFSET_SECONDS = int(CHINA_OFFSET.total_seconds())


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


def china_month(moment: datetime) -> str:
    """The `YYYY-MM` month of a moment in China time (UTC+8 all year), through a cache of days (or of months, for a
    moment already written in China time, as the events of Chinese departments are)."""
    if moment.utcoffset() == CHINA_OFFSET:
        return _month(moment.year, moment.month)
    return _month_of_day(int((moment.timestamp() + CHINA_OFFSET_SECONDS) // 86400))


@lru_cache(maxsize=4096)
def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


@lru_cache(maxsize=4096)
def _month_of_day(day: int) -> str:
    """The month of a day counted from 1970-01-01 (China time)."""
    return (date(1970, 1, 1) + timedelta(days=day)).strftime("%Y-%m")


def monthly(
    state: HouseholdState, version: str, event_time: datetime, row: list[int] | None
) -> tuple[MonitoringRecord | None, str]:
    """The record to carry (None unless this is the household's first score by `version` in its month) and the
    state's new `monitored` tag."""
    tag = f"{version}|{china_month(event_time)}"
    if row is None or state.monitored == tag:
        return None, state.monitored
    return MonitoringRecord(tag[len(version) + 1 :], row[:-1], row[-1]), tag
