"""What the alerts projection counts for watching the model (read by `GET /models/{version}/monitoring`):

  alerts:monitoring:{version}:{county}:{YYYY-MM}  hash, per county and month of the scores that carry drift bins
                                                   (a household's first model score of its month): "n", "s:{bin}"
                                                   (score), "f:{i}:{bin}" (the model's feature i), "level:{level}",
                                                   "raised:{model_only|rules_only|both}"
  alerts:monitoring:{version}:counties             set of the counties counted
  alerts:ix:{prefix}:calibration                   hash, kept with the alert indexes (index.py): per alert with a
                                                   model probability, "{version}|{band}|{outcome}" (confirmed,
                                                   dismissed, overdue, open), "{version}|{band}|p" (the
                                                   probabilities in millionths) and "{version}|raised:{who}|{outcome}"
Both move only with a new score id or an applied alert version, so a redelivery counts nothing twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

import numpy as np
from redis.asyncio import Redis

from services.alerts import index
from services.analytics.monitoring import band_of
from services.common.alerts import Alert
from services.common.score_records import ScoreRecord

PREFIX = "alerts:monitoring:"
CONFIRMED = frozenset({"confirmed", "assisting", "resolved"})


def month_key(version: str, county: str, month: str) -> str:
    """The counters of one model version, county and month."""
    return f"{PREFIX}{version}:{county}:{month}"


def counties_key(version: str) -> str:
    """The counties a version's counters cover."""
    return f"{PREFIX}{version}:counties"


def raised_by(codes: Iterable[tuple[str, str]]) -> str | None:
    """Who raised the household ((code, level) of its reasons): the model alone, the rules alone, both, or nobody."""
    model = rules = False
    for code, level in codes:
        if level != "green":
            model, rules = model or code == "model_risk", rules or code != "model_risk"
    return "both" if model and rules else "model_only" if model else "rules_only" if rules else None


DriftGroup = tuple[str, str, str, dict[str, int]]  # counters key, counties key, county, field -> sum over the batch


def drift_batch(scores: Sequence[ScoreRecord], recorded: Collection[str] = ()) -> tuple[list[int], list[DriftGroup]]:
    """What a batch's drift bins add: per score, the 1-based number of its group (a model version, county and month;
    0 when it adds nothing: no bins, a copy of a score earlier in the batch, or a score id in `recorded`), and per
    group every field ("n", "s:{bin}", "f:{i}:{bin}", "level:{level}", "raised:{who}") summed with numpy."""
    numbers: list[int] = []
    groups: dict[tuple[str, str, str], list[ScoreRecord]] = {}  # (version, county, month) -> its scores
    number_of: dict[tuple[str, str, str], int] = {}
    counted = set(recorded)
    for score in scores:
        found = score.monitoring
        if found is None or score.model_version is None or score.score_id in counted:
            numbers.append(0)
            continue
        counted.add(score.score_id)
        group = (score.model_version, score.region_code[:6], found.month)
        numbers.append(number_of.setdefault(group, len(number_of) + 1))
        groups.setdefault(group, []).append(score)
    keyed = [(month_key(version, county, month), counties_key(version), county, _summed(members))
             for (version, county, month), members in groups.items()]  # fmt: skip
    return numbers, keyed


def _summed(scores: list[ScoreRecord]) -> dict[str, int]:
    """The fields these scores add, summed (the feature and score bins counted in one numpy call each)."""
    sums = {"n": len(scores)}
    sums.update({f"level:{level}": n for level, n in Counter(score.level for score in scores).items()})
    raised = Counter(raised_by((r.code, r.level) for r in score.reasons) for score in scores if score.reasons)
    sums.update({f"raised:{who}": n for who, n in raised.items() if who})
    monitored = [score.monitoring for score in scores if score.monitoring is not None]
    bins = np.array([found.bins for found in monitored], dtype=np.int64)
    width = int(bins.max(initial=0)) + 1  # the code of (feature i, bin b) is i * width + b
    coded = np.bincount((bins + np.arange(bins.shape[1]) * width).ravel())
    for code in np.flatnonzero(coded).tolist():
        column, found = divmod(code, width)
        sums[f"f:{column}:{found}"] = int(coded[code])
    score_bins = np.bincount(np.array([found.score_bin for found in monitored], dtype=np.int64))
    sums.update({f"s:{b}": int(score_bins[b]) for b in np.flatnonzero(score_bins).tolist()})
    return sums


def outcome_of(alert: Alert) -> str:
    """Where the case stands for calibration: confirmed, dismissed, open past its deadline (overdue), or open."""
    if alert.status in CONFIRMED:
        return "confirmed"
    if alert.status == "dismissed":
        return "dismissed"
    return "overdue" if alert.overdue else "open"


def calibration_tokens(alert: Alert) -> str:
    """The calibration counters this version of the alert holds ("field=increment" tokens; '' without a model)."""
    if alert.probability is None or alert.model_version is None:
        return ""
    version, band, outcome = alert.model_version, band_of(alert.probability), outcome_of(alert)
    tokens = [f"{version}|{band}|{outcome}=1", f"{version}|{band}|p={round(alert.probability * 1e6)}"]
    who = raised_by((r.code, r.level) for r in alert.reasons)
    if who:
        tokens.append(f"{version}|raised:{who}|{outcome}=1")
    return " ".join(tokens)


def month_keys(version: str, counties: Sequence[str], months: Sequence[str]) -> list[tuple[str, str, str]]:
    """(county, month, key) of every counter hash to read."""
    return [(county, month, month_key(version, county, month)) for county in counties for month in months]


async def counties(redis: Redis, version: str, prefix: str) -> list[str]:
    """The counties with drift counters of a version under a region prefix (a longer prefix: its county)."""
    found = sorted(str(c) for c in await redis.smembers(counties_key(version)))  # type: ignore[misc]
    return [c for c in found if c.startswith(prefix[:6])]


async def drift_counts(redis: Redis, version: str, counties: Sequence[str], months: Sequence[str]) -> dict[
        tuple[str, str], dict[str, int]]:  # fmt: skip
    """Counters per (county, month) that exist (one round trip)."""
    wanted = month_keys(version, counties, months)
    async with redis.pipeline(transaction=False) as pipe:
        for _, _, key in wanted:
            pipe.hgetall(key)
        found = await pipe.execute()
    return {(county, month): {str(k): int(v) for k, v in counts.items()}
            for (county, month, _), counts in zip(wanted, found, strict=True) if counts}  # fmt: skip


async def calibration_counts(redis: Redis, version: str, prefix: str) -> dict[str, int]:
    """A version's calibration counters under a region prefix, "{band}|{outcome}", "{band}|p", "raised:{who}|…"."""
    total: dict[str, int] = {}
    async with redis.pipeline(transaction=False) as pipe:
        for region in await index.cover(redis, prefix):
            pipe.hgetall(index.calibration_key(region))
        found = await pipe.execute()
    mine = f"{version}|"
    for counts in found:
        for field, value in counts.items():
            name = str(field)
            if name.startswith(mine):
                total[name[len(mine) :]] = total.get(name[len(mine) :], 0) + int(value)
    return total
