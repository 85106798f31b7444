"""The live model watched: drift of its inputs and score per county and month against its training reference, and
its calibration against the townships' verdicts (`GET /models/active/monitoring`, `GET /models/{version}/monitoring`),
with Prometheus gauges of the headline figures. Read from the counters the alerts projection keeps, never from topics.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from prometheus_client import Gauge
from redis.asyncio import Redis

from services.alerts import monitoring as counters
from services.analytics import monitoring, registry
from services.api.dependencies import RedisClient, Settings
from services.api.permissions import Analyst
from services.api.scoped import ScopedModelRegion
from services.common.china_time import CHINA
from services.common.errors import errors
from services.common.months import month_shift
from services.common.settings import ApiSettings
from services.regions.catalogue import package_names
from services.scoring.model import ModelManifest, ModelRegistry, NotRegistered

router = APIRouter(prefix="/models", tags=["models"])
log = logging.getLogger(__name__)
VERSION = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FEATURE_PSI = Gauge("shouwang_model_feature_psi", "PSI of a model feature, latest month, by county",
                    ["feature", "county"])  # fmt: skip
SCORE_PSI = Gauge("shouwang_model_score_psi", "PSI of the model's score, latest month, by county", ["county"])
CONFIRM_RATE = Gauge("shouwang_model_verdict_confirm_rate", "Confirmed share of decided alerts, by band", ["band"])
PREDICTED_RATE = Gauge("shouwang_model_predicted_rate", "Mean model probability of the alerts, by band", ["band"])
DRIFT_ALARM = Gauge("shouwang_model_drift_alarm", "1 when the active model's drift or calibration alarm is on",
                    ["county"])  # fmt: skip
Months = Annotated[int, Query(ge=1, le=60, description="the latest months, this one included")]


def last_months(count: int, now: datetime) -> list[str]:
    """The `count` months ending with this one (China time), oldest first."""
    current = now.astimezone(CHINA).strftime("%Y-%m")
    return [month_shift(current, -k) for k in range(count - 1, -1, -1)]


async def report(
    redis: Redis, manifest: ModelManifest, prefix: str, months: list[str], settings: ApiSettings
) -> dict[str, Any]:
    """Drift per county and month, calibration by band, and the alarms, for one version under a region prefix."""
    version, names = manifest.version, package_names()
    reference = manifest.reference or None
    found = await counters.drift_counts(redis, version, await counters.counties(redis, version, prefix), months)
    drift = []
    for (county, month), counts in sorted(found.items()):
        figures = monitoring.drift(reference, manifest.features, counts) if reference else {
            "households": counts.get("n", 0), "score_psi": None, "feature_psi": {}}  # fmt: skip
        drift.append({"county": county, "county_name": names.get(county), "month": month, **figures})
    calibration = await counters.calibration_counts(redis, version, prefix)
    bands = monitoring.calibration(calibration, settings.monitoring_min_verdicts)
    return {
        "model": version,
        "region": prefix,
        "months": months,
        "reference": {"rows": reference["rows"]} if reference else None,
        "note": None if reference else "this version records no training reference: retrain it to measure drift",
        "drift": drift,
        "calibration": {"bands": bands, "recall_of_confirmed": _recall(calibration)},
        "thresholds": {
            "psi_alarm": settings.monitoring_psi_alarm,
            "min_verdicts": settings.monitoring_min_verdicts,
            "min_households": settings.monitoring_min_households,
        },
        "alarms": _alarms(drift, bands, settings),
    }


def _recall(counts: dict[str, int]) -> dict[str, Any]:
    """Of the confirmed cases, the share the model raised and the share the rules raised (either may with the other)."""
    confirmed = {who: counts.get(f"raised:{who}|confirmed", 0) for who in ("model_only", "rules_only", "both")}
    total = sum(confirmed.values())
    return {
        "confirmed": total,
        "by_model": (confirmed["model_only"] + confirmed["both"]) / total if total else None,
        "by_rules": (confirmed["rules_only"] + confirmed["both"]) / total if total else None,
        "by_model_only": confirmed["model_only"] / total if total else None,
    }


def _alarms(drift: list[dict[str, Any]], bands: list[dict[str, Any]], settings: ApiSettings) -> list[dict[str, Any]]:
    """Drift above the PSI threshold in a county-month with enough households; calibration outside its interval."""
    alarms: list[dict[str, Any]] = []
    threshold = settings.monitoring_psi_alarm
    for row in (r for r in drift if r["households"] >= settings.monitoring_min_households):
        items = [("score", row.get("score_psi")), *row.get("feature_psi", {}).items()]
        alarms += [{"kind": "drift", "county": row["county"], "month": row["month"], "on": what, "psi": round(value, 4)}
                   for what, value in items if value is not None and value > threshold]  # fmt: skip
    alarms += [{"kind": "calibration", "band": band["band"], "predicted": band["predicted"],
                "confirm_rate_interval": band["confirm_rate_interval"]}
               for band in bands if band["outside_interval"]]  # fmt: skip
    return alarms


def _manifest(model_dir: Any, version: str) -> ModelManifest:
    try:
        return ModelRegistry(model_dir).manifest(version)
    except NotRegistered as exc:
        raise HTTPException(404, str(exc)) from exc


async def _answer(redis: Redis, settings: ApiSettings, version: str, prefix: str, months: int) -> dict[str, Any]:
    manifest = await asyncio.to_thread(_manifest, settings.model_dir, version)
    return await report(redis, manifest, prefix, last_months(months, datetime.now(UTC)), settings)


@router.get("/active/monitoring", responses=errors(404))
async def active_monitoring(
    user: Analyst, prefix: ScopedModelRegion, settings: Settings, redis: RedisClient, months: Months = 12
) -> dict[str, Any]:
    """The active model's drift (PSI per feature and of the score, per county and month, level mix, who raised) and
    calibration against verdicts (per probability band, with intervals), inside the caller's jurisdiction."""
    current = registry.active(await asyncio.to_thread(registry.activations, settings.kafka_bootstrap_servers))
    if current is None or current.version is None:
        raise HTTPException(404, "no model is active: scoring runs on the rules only")
    return await _answer(redis, settings, current.version, prefix, months)


@router.get("/{version}/monitoring")
async def version_monitoring(
    user: Analyst, version: str, prefix: ScopedModelRegion, settings: Settings, redis: RedisClient, months: Months = 12
) -> dict[str, Any]:
    """The same for any registered version (a shadow candidate, or one active before)."""
    if not VERSION.match(version):
        raise HTTPException(404, f"model {version} is not registered")
    return await _answer(redis, settings, version, prefix, months)


class GaugeRefresh:
    """Keeps the Prometheus gauges of the active model's monitoring at most MONITORING_GAUGES_SECONDS old, on scrape."""

    def __init__(self, redis: Redis, settings: ApiSettings):
        self._redis, self._settings, self._at = redis, settings, 0.0

    async def __call__(self) -> None:
        """Recompute the gauges when they are too old (a failure leaves them as they were, and is logged)."""
        if time.monotonic() - self._at < self._settings.monitoring_gauges_seconds:
            return
        self._at = time.monotonic()
        settings = self._settings
        try:
            current = registry.active(await asyncio.to_thread(registry.activations, settings.kafka_bootstrap_servers))
            if current is None or current.version is None:
                return
            manifest = await asyncio.to_thread(_manifest, settings.model_dir, current.version)
            found = await report(self._redis, manifest, "", last_months(1, datetime.now(UTC)), self._settings)
        except Exception:  # noqa: BLE001 - the metrics page must answer whatever the model registry does
            log.warning("model monitoring gauges not refreshed", exc_info=True)
            return
        _set_gauges(found)


def _set_gauges(found: dict[str, Any]) -> None:
    for gauge in (FEATURE_PSI, SCORE_PSI, CONFIRM_RATE, PREDICTED_RATE, DRIFT_ALARM):
        gauge.clear()
    alarmed = {a.get("county") for a in found["alarms"]}
    for row in found["drift"]:
        for feature, value in row["feature_psi"].items():
            if value is not None:
                FEATURE_PSI.labels(feature, row["county"]).set(value)
        if row["score_psi"] is not None:
            SCORE_PSI.labels(row["county"]).set(row["score_psi"])
        DRIFT_ALARM.labels(row["county"]).set(1.0 if row["county"] in alarmed else 0.0)
    for band in found["calibration"]["bands"]:
        if band["confirm_rate"] is not None:
            CONFIRM_RATE.labels(band["band"]).set(band["confirm_rate"])
        PREDICTED_RATE.labels(band["band"]).set(band["predicted"])
    DRIFT_ALARM.labels("all").set(1.0 if found["alarms"] else 0.0)
