"""Risk model registry for analysts: list versions, activate, roll back, train as a job of the jobs process."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException

from services.analytics import registry
from services.analytics.requests import TrainRequest, training_version
from services.analytics.shadow import live_report
from services.api.audit import AuditTrail
from services.api.dependencies import Audit, BackgroundJobs, Settings
from services.api.permissions import Analyst, NationalAnalyst
from services.api.scoped import ScopedModelRegion
from services.api.users import User
from services.common.errors import errors
from services.common.job_queues import MODEL_TRAINING
from services.common.job_views import training_view
from services.common.model_activation import Activation
from services.common.settings import ApiSettings
from services.regions.catalogue import package_names

router = APIRouter(prefix="/models", tags=["models"])
_VERSIONS = "jobs:training:versions"  # version -> the training job that registers it


@router.get("")
async def list_models(user: Analyst, settings: Settings) -> dict[str, Any]:
    """Every registered version with metrics, data window, features, policy version, trainer and `active`."""
    history = await asyncio.to_thread(registry.activations, settings.kafka_bootstrap_servers)
    items = registry.listing(settings.model_dir, history)
    current, shadow = registry.active(history), registry.active(history, "shadow")
    return {
        "items": items,
        "active": current.version if current else None,
        "shadow": shadow.version if shadow else None,
        "rollback_to": registry.rollback_target(history),
        "total": len(items),
    }


@router.get("/shadow/report", responses=errors(409))
async def shadow_report(user: Analyst, within: ScopedModelRegion, settings: Settings) -> dict[str, Any]:
    """How the shadow candidate's assessments differ from the active model's, over the newest SHADOW_REPORT_SCORES
    shadow scores (409 when none is shadowing); `by_county`: where households would change level, inside the
    caller's jurisdiction (and `region`)."""
    history = await asyncio.to_thread(registry.activations, settings.kafka_bootstrap_servers)
    shadow = registry.active(history, "shadow")
    if shadow is None or shadow.version is None:
        raise HTTPException(409, "no model is in shadow: start one with POST /models/{version}/shadow")
    newest = settings.shadow_report_scores
    found = await asyncio.to_thread(
        live_report, settings.kafka_bootstrap_servers, shadow.version, newest=newest, within=within
    )
    names = package_names()
    for county in found["by_county"]:
        county["county_name"] = names.get(county["county"])
    return found


async def audit_model(audit: AuditTrail, user: User, action: str, version: str | None, **details: str) -> None:
    """Record a change to (or an evaluation of) the model of the whole country: national, so region ""."""
    await audit.record(user.username, action, f"model:{version or ''}", region="", **details)


@router.delete("/shadow")
async def stop_shadow(user: NationalAnalyst, settings: Settings, audit: Audit) -> dict[str, Any]:
    """Stop shadow scoring."""
    done = await asyncio.to_thread(registry.stop_shadow, settings.kafka_bootstrap_servers, user.username)
    await audit_model(audit, user, "model.shadow_stopped", None)
    return done.model_dump(mode="json")


@router.post("/rollback", responses=errors(409))
async def rollback(user: NationalAnalyst, settings: Settings, audit: Audit) -> dict[str, Any]:
    """Re-activate the version that was active before the current one (409 when there is none)."""
    try:
        done = await asyncio.to_thread(
            registry.rollback, settings.kafka_bootstrap_servers, settings.model_dir, user.username
        )
    except registry.RegistryError as exc:
        raise HTTPException(409, str(exc)) from exc
    await audit_model(audit, user, "model.rolled_back", done.version)
    return done.model_dump(mode="json")


@router.post("/train", status_code=202, responses=errors(409))
async def train(
    body: TrainRequest, user: NationalAnalyst, jobs: BackgroundJobs, settings: Settings, audit: Audit
) -> dict[str, Any]:
    """Queue a training (simulated county by default) for the jobs process; poll `GET /models/train/{job}`.

    `TRAINING_CONCURRENCY` trainings run at once per jobs process, the others wait in the queue (`queued`).
    """
    paths = [name for name in ("events", "truth", "verdicts", "labels", "policy_dir") if getattr(body, name)]
    if paths or body.from_kafka:
        named = ", ".join(paths or ["from_kafka"])
        raise HTTPException(422, f"{named}: files on the server and exported histories are trained from the CLI; "
                                 "the API trains on a simulated county with the service's POLICY_DIR")  # fmt: skip
    if body.version and (settings.model_dir / body.version).exists():
        raise HTTPException(409, f"version: {body.version} is registered already")
    job_id = secrets.token_hex(8)
    version = training_version(job_id, body)
    if not await jobs.store.redis.hsetnx(_VERSIONS, version, job_id):  # type: ignore[misc]
        raise HTTPException(409, f"version: another training job registers {body.version}")
    wanted = body.model_dump(mode="json") | {"version": version}
    started = training_view(await jobs.submit(MODEL_TRAINING, job_id, by=user.username, request=wanted))
    await audit_model(audit, user, "model.training_queued", version, job=job_id)
    return started


@router.get("/train/{job}")
async def training_job(job: str, user: Analyst, jobs: BackgroundJobs) -> dict[str, Any]:
    """A training job's status (queued, running, done or failed), and the version it registered."""
    if not re.fullmatch(r"[0-9a-f]{16}", job) or (record := await jobs.store.get(MODEL_TRAINING, job)) is None:
        raise HTTPException(404, f"no training job {job}")
    return training_view(record)


@router.post("/{version}/activate", responses=errors(409))
async def activate(version: str, user: NationalAnalyst, settings: Settings, audit: Audit) -> dict[str, Any]:
    """Publish an activation of a registered, checksum-verified version on `models.activations`."""
    return await _publish(settings, audit, version, user, registry.activate, "model.activated")


@router.post("/{version}/shadow", responses=errors(409))
async def start_shadow(version: str, user: NationalAnalyst, settings: Settings, audit: Audit) -> dict[str, Any]:
    """Run a registered, verified version in shadow: it scores next to the active model on `scores.shadow` only."""
    return await _publish(settings, audit, version, user, registry.start_shadow, "model.shadow_started")


async def _publish(
    settings: ApiSettings,
    audit: AuditTrail,
    version: str,
    user: User,
    action: Callable[[str, Path, str, str], Activation],
    audited: str,
) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}", version):
        raise HTTPException(404, f"no model version {version}")
    try:
        done = await asyncio.to_thread(
            action, settings.kafka_bootstrap_servers, settings.model_dir, version, user.username
        )
    except KeyError as exc:
        raise HTTPException(404, f"no model version {version}") from exc
    except registry.RegistryError as exc:
        raise HTTPException(409, str(exc)) from exc
    await audit_model(audit, user, audited, version)
    return done.model_dump(mode="json")
