"""A version's training report for the analysts' console: the Markdown (`GET /models/{version}/report`) and its plots
(`GET /models/{version}/report/{name}`), read from MODEL_DIR/<version>/. Only the plots the training writes are
served, by name: nothing else of the folder (the model artefact, its reference) leaves through these routes."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from services.api.dependencies import Settings
from services.api.permissions import Analyst
from services.common.settings import ApiSettings

router = APIRouter(prefix="/models", tags=["models"])
PLOTS = frozenset({"reliability.png", "recall_at_budget.png", "county_recall.png"})  # services/analytics/report.py
VERSION = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")  # never "." or "..": a folder of MODEL_DIR only


def _folder(settings: ApiSettings, version: str) -> Path:
    """The registered version's folder (404 when the name is not one, or the version is not registered)."""
    folder = settings.model_dir / version
    if not VERSION.match(version) or not (folder / "manifest.json").is_file():
        raise HTTPException(404, f"model {version} is not registered")
    return folder


@router.get("/{version}/report", response_class=Response, responses={200: {"content": {"text/markdown": {}}}})
async def report(version: str, user: Analyst, settings: Settings) -> Response:
    """The version's training report as Markdown (404 when it has none); its plots are named in it."""
    path = _folder(settings, version) / "report.md"
    if not path.is_file():
        raise HTTPException(404, f"model {version} has no training report")
    return Response(path.read_bytes(), media_type="text/markdown; charset=utf-8")


@router.get("/{version}/report/{name}", response_class=FileResponse, responses={200: {"content": {"image/png": {}}}})
async def plot(version: str, name: str, user: Analyst, settings: Settings) -> FileResponse:
    """One of the report's plots: reliability.png, recall_at_budget.png or county_recall.png."""
    if name not in PLOTS:
        raise HTTPException(404, f"no plot {name}: the report's plots are {', '.join(sorted(PLOTS))}")
    path = _folder(settings, version) / name
    if not path.is_file():
        raise HTTPException(404, f"model {version} has no plot {name}")
    return FileResponse(path, media_type="image/png")
