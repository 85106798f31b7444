"""Analysts evaluate a registered version on a later period: uploaded events and labels, scored as the stream would."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import PlainTextResponse

from services.api.permissions import Analyst
from services.common.settings import ScoringSettings

router = APIRouter(prefix="/models", tags=["models"])
_VERSION = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
_NAME = re.compile(r"(at|from)-\d{4}-\d{2}-\d{2}-[0-9]{8}T[0-9]{6}")


def _settings(request: Request) -> ScoringSettings:
    settings: ScoringSettings | None = getattr(request.app.state, "model_settings", None)
    if settings is None:
        settings = request.app.state.model_settings = ScoringSettings()
    return settings


def _folder(settings: ScoringSettings, version: str) -> Path:
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


def _run(settings: ScoringSettings, version: str, events: Path, labels: Path, at: str, test_from: str,
         max_rejects: int, folder: Path) -> dict[str, Any]:  # fmt: skip
    from services.analytics.history import group, read_events
    from services.analytics.labels import Labels, read_outcomes
    from services.analytics.out_of_time import evaluate_period, save_evaluation
    from services.analytics.training_set import later_cutoffs
    from services.common.policy import PolicyBook

    found = Labels(read_outcomes(labels))
    if at:
        cutoffs = sorted({date.fromisoformat(day.strip()) for day in at.split(",") if day.strip()})
    else:
        cutoffs = later_cutoffs(found, date.fromisoformat(test_from))
    history, rejects = read_events(events, max_rejects)
    result = evaluate_period(settings.model_dir, version, group(history), found, cutoffs,
                             PolicyBook.load(settings.policy_dir))  # fmt: skip
    summary = save_evaluation(result, folder)
    return summary | {"evaluation": folder.name, "rejected": len(rejects)}


@router.post("/{version}/evaluations")
async def evaluate(
    request: Request,
    version: str,
    user: Analyst,
    events: Annotated[UploadFile, File(description="JSONL of CloudEvents or canonical messages")],
    labels: Annotated[UploadFile, File(description="labels: CSV household_id,as_of,outcome or JSONL")],
    at: Annotated[str, Form(description="cut-off dates YYYY-MM-DD, comma-separated")] = "",
    test_from: Annotated[str, Form(description="or: every labelled cut-off whose horizon starts then")] = "",
    max_rejects: Annotated[int, Form(ge=0)] = 0,
) -> dict[str, Any]:
    """Score the uploaded later period with `version` exactly as the stream would, next to the baselines."""
    settings = _settings(request)
    root = _folder(settings, version)
    if not at and not test_from:
        raise HTTPException(422, "at: give cut-off dates, or test_from")
    first = (at.split(",")[0].strip() if at else test_from) or ""
    name = f"{'at' if at else 'from'}-{first}-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    if not _NAME.fullmatch(name):
        raise HTTPException(422, "at / test_from: dates are YYYY-MM-DD")
    with tempfile.TemporaryDirectory() as scratch:
        paths = Path(scratch) / "events.jsonl", Path(scratch) / f"labels{Path(labels.filename or '.csv').suffix}"
        await _save(events, paths[0], settings.evaluation_upload_mb)
        await _save(labels, paths[1], settings.evaluation_upload_mb)
        try:
            return await asyncio.to_thread(_run, settings, version, *paths, at, test_from, max_rejects, root / name)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc


@router.get("/{version}/evaluations")
async def evaluations(request: Request, version: str, user: Analyst) -> dict[str, Any]:
    """Every stored evaluation of a version (from training with --test-from, the CLI or this API), newest last."""
    root = _folder(_settings(request), version)
    found = [json.loads(path.read_text(encoding="utf-8")) | {"evaluation": path.parent.name}
             for path in sorted(root.glob("*/summary.json"))] if root.exists() else []  # fmt: skip
    return {"items": found, "total": len(found)}


@router.get("/{version}/evaluations/{evaluation}/report", response_class=PlainTextResponse)
async def report(request: Request, version: str, evaluation: str, user: Analyst) -> str:
    """The evaluation's Markdown report (its plots sit next to it in the registry folder)."""
    path = _folder(_settings(request), version) / evaluation / "report.md"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", evaluation) or not path.exists():
        raise HTTPException(404, f"no evaluation {evaluation} of {version}")
    return path.read_text(encoding="utf-8")
