"""Analysts evaluate a registered version on a later period: uploaded events and labels, scored as the stream would,
in the jobs process (services/jobs/evaluations.py): the API only streams the files to EVALUATION_DIR/{job}, records
and queues the job and waits up to EVALUATION_WAIT_SECONDS for it (then answers 202 with the job to poll)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from services.api.dependencies import Audit, BackgroundJobs, Settings
from services.api.model_registry import audit_model
from services.api.permissions import Analyst
from services.common.errors import errors
from services.common.job_queues import MODEL_EVALUATION
from services.common.job_views import evaluation_view
from services.common.settings import ApiSettings

router = APIRouter(prefix="/models", tags=["models"])
_VERSION = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_NAME = re.compile(r"(at|from)-\d{4}-\d{2}-\d{2}-[0-9]{8}T[0-9]{6}")
_POLL_SECONDS = 0.25


def _folder(settings: ApiSettings, version: str) -> Path:
    if not _VERSION.fullmatch(version) or not (settings.model_dir / version / "manifest.json").exists():
        raise HTTPException(404, f"no model version {version}")
    return settings.model_dir / version / "evaluations"


async def _save(upload: UploadFile, target: Path, limit_mb: int) -> None:
    written = 0
    with target.open("wb") as handle:
        while chunk := await upload.read(1 << 20):
            written += len(chunk)
            if written > limit_mb << 20:
                raise HTTPException(413, f"{upload.filename}: larger than EVALUATION_UPLOAD_MB ({limit_mb} MB)")
            handle.write(chunk)


def _answer(record: dict[str, Any]) -> dict[str, Any] | JSONResponse:
    """The summary once done, 422 with the reason if the request was refused, else 202 with the job to poll."""
    if record["status"] == "done":
        summary: dict[str, Any] = record["summary"]
        return summary
    if record["status"] == "failed" and record.get("refused"):
        raise HTTPException(422, record["error"])
    poll = f"/models/{record['version']}/evaluations/jobs/{record['job']}"
    return JSONResponse(record | {"poll": poll}, status_code=500 if record["status"] == "failed" else 202)


@router.post(
    "/{version}/evaluations", responses={202: {"description": "still running: poll the job"}, **errors(429, 503)}
)
async def evaluate(
    version: str,
    user: Analyst,
    settings: Settings,
    jobs: BackgroundJobs,
    audit: Audit,
    events: Annotated[UploadFile, File(description="JSONL of CloudEvents or canonical messages")],
    labels: Annotated[UploadFile, File(description="labels: CSV household_id,as_of,outcome[,risk_type] or JSONL")],
    at: Annotated[str, Form(description="cut-off dates YYYY-MM-DD, comma-separated")] = "",
    test_from: Annotated[str, Form(description="or: every labelled cut-off whose horizon starts then")] = "",
    max_rejects: Annotated[int, Form(ge=0)] = 0,
    wait: Annotated[
        float, Form(ge=0, le=3600, description="seconds to wait for the summary (at most EVALUATION_WAIT_SECONDS)")
    ] = 3600,
) -> Any:
    """Score the uploaded later period with `version` exactly as the stream would, next to the baselines (a job of
    the jobs process); answers the summary, or 202 with the job to poll when it takes longer than
    EVALUATION_WAIT_SECONDS. At most EVALUATIONS_PER_ANALYST of yours queued or running at once (else 429)."""
    _folder(settings, version)
    if not at and not test_from:
        raise HTTPException(422, "at: give cut-off dates, or test_from")
    first = (at.split(",")[0].strip() if at else test_from) or ""
    name = f"{'at' if at else 'from'}-{first}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    if not _NAME.fullmatch(name):
        raise HTTPException(422, "at / test_from: dates are YYYY-MM-DD")
    if await jobs.store.open_count(MODEL_EVALUATION, user.username) >= settings.evaluations_per_analyst:
        raise HTTPException(429, "you have evaluations queued or running: wait for them", {"Retry-After": "30"})
    job_id = secrets.token_hex(8)
    files = settings.evaluation_dir / job_id
    files.mkdir(parents=True)
    labels_file = f"labels{Path(labels.filename or '.csv').suffix.lower()[:8]}"
    try:
        await _save(events, files / "events.jsonl", settings.evaluation_upload_mb)
        await _save(labels, files / labels_file, settings.evaluation_upload_mb)
    except BaseException:
        shutil.rmtree(files, ignore_errors=True)
        raise
    wanted = {"version": version, "evaluation": name, "at": at, "test_from": test_from, "max_rejects": max_rejects,
              "labels_file": labels_file}  # fmt: skip
    record = evaluation_view(await jobs.submit(MODEL_EVALUATION, job_id, by=user.username, request=wanted))
    await audit_model(audit, user, "model.evaluation_queued", version, job=job_id, evaluation=name)
    longest = settings.evaluation_wait_seconds
    deadline = time.monotonic() + min(wait, longest)
    while record["status"] in ("queued", "running") and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)
        found = await jobs.store.get(MODEL_EVALUATION, job_id)
        record = evaluation_view(found) if found is not None else record
    return _answer(record)


@router.get("/{version}/evaluations/jobs/{job}")
async def evaluation_job(version: str, job: str, user: Analyst, jobs: BackgroundJobs) -> dict[str, Any]:
    """An evaluation job: queued, running, done (with `summary`) or failed (with `error`)."""
    record = await jobs.store.get(MODEL_EVALUATION, job) if re.fullmatch(r"[0-9a-f]{16}", job) else None
    if record is None or record.request.get("version") != version:
        raise HTTPException(404, f"no evaluation job {job} of {version}")
    return evaluation_view(record)


@router.get("/{version}/evaluations")
async def evaluations(version: str, user: Analyst, settings: Settings) -> dict[str, Any]:
    """Every stored evaluation of a version (from training with --test-from, the CLI or this API), newest last."""
    root = _folder(settings, version)
    found = [json.loads(path.read_text(encoding="utf-8")) | {"evaluation": path.parent.name}
             for path in sorted(root.glob("*/summary.json"))] if root.exists() else []  # fmt: skip
    return {"items": found, "total": len(found)}


@router.get("/{version}/evaluations/{evaluation}/report", response_class=PlainTextResponse)
async def report(version: str, evaluation: str, user: Analyst, settings: Settings) -> str:
    """The evaluation's Markdown report (its plots sit next to it in the registry folder)."""
    path = _folder(settings, version) / evaluation / "report.md"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", evaluation) or not path.exists():
        raise HTTPException(404, f"no evaluation {evaluation} of {version}")
    return path.read_text(encoding="utf-8")
