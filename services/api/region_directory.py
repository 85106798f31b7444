"""Routes of the region directory: names of codes and suggestions for staff; the names import for admins."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from services.api.dependencies import Audit, BackgroundJobs, NamesImports, Regions, Settings
from services.api.permissions import Admin, Staff
from services.api.scoped import ScopedImportJob, ScopedWithin
from services.common.job_queues import NAMES_IMPORT
from services.common.job_views import names_import_view
from services.common.settings import ApiSettings
from services.common.spreadsheets import spreadsheet_writer
from services.common.uploads import json_instead_of_file
from services.regions.directory import Place
from services.regions.importer import upload_path

router = APIRouter(tags=["regions"])
imports_router = APIRouter(tags=["regions"])  # its own body limit: REGIONS_UPLOAD_MB
Code = Annotated[str, StringConstraints(pattern=r"^\d{2,12}$")]


class ImportJob(BaseModel):
    """A names import: its progress (the last file line applied) and counts."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    line: int = Field(description="the last line of the file applied (a restarted job goes on after it)")
    changed: int = Field(description="names added or renamed")
    unchanged: int = Field(description="rows whose name was already in the directory")
    rejected: int = Field(description="rows refused: GET /regions/import/{id}/rejects")
    file: str
    jurisdiction: str = Field(description="rows outside it are refused")
    by: str
    queued_at: str
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    attempt: int = Field(default=0, description="runs of the job started (a killed run is taken up again)")


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Add the region routes (the names import with its own body limit, REGIONS_UPLOAD_MB)."""
    app.include_router(router)
    app.include_router(imports_router, max_body_size=settings.regions_upload_mb << 20)


@router.get("/regions", response_model=list[Place], summary="Names of region codes")
async def region_names(
    user: Staff, regions: Regions, code: Annotated[list[Code], Query(min_length=1, max_length=500)]
) -> list[Place]:
    """How each code is shown (a village: "新华乡 · 新华村") and its full name; an unknown code is shown as itself.
    Place names are public reference data: any signed-in member of staff may look any code up."""
    return await regions.describe(code)


@router.get("/regions/suggest", response_model=list[Place], summary="Regions whose name starts with what was typed")
async def suggest_regions(
    user: Staff,
    regions: Regions,
    q: Annotated[str, Query(min_length=1, max_length=40, description="a name's start, its pinyin initials, or digits")],
    within: ScopedWithin,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[Place]:
    """Regions inside your jurisdiction (and `within`) matching by name prefix, pinyin initials or code prefix;
    higher levels first."""
    return await regions.suggest(q, within, limit)


@imports_router.post("/regions/import", response_model=ImportJob, status_code=202, summary="Import region names")
async def import_names(
    file: UploadFile, admin: Admin, settings: Settings, names: NamesImports, jobs: BackgroundJobs, audit: Audit
) -> dict[str, Any]:
    """A CSV of `code,name` (UTF-8, optional header): townships (9 digits), villages (12) and county overrides (6),
    inside your jurisdiction, imported by the jobs process. The same file again resumes an unfinished import (or runs
    a finished one again)."""
    folder = settings.regions_import_dir
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256(f"{admin.region_code}\n".encode())
    try:
        with partial.open("wb") as target:
            while chunk := await file.read(1 << 20):
                digest.update(chunk)
                target.write(chunk)
        refusal = json_instead_of_file(partial)
        if refusal is not None:
            raise HTTPException(422, [{"loc": ["body", "file"], "msg": refusal, "type": "not_code_name_csv"}])
        job_id = digest.hexdigest()
        partial.replace(upload_path(folder, job_id))
    finally:
        partial.unlink(missing_ok=True)
    name = Path(file.filename or "regions.csv").name[:200]
    record = await names.open(job_id, file=name, jurisdiction=admin.region_code, by=admin.username)
    await jobs.enqueue(NAMES_IMPORT, job_id)
    await audit.record(admin.username, "regions.import", f"regions-job:{job_id}", region=admin.region_code, file=name)
    return names_import_view(record)


@router.get("/regions/import/{job_id}", response_model=ImportJob, summary="A names import's progress and counts")
async def import_status(record: ScopedImportJob, admin: Admin) -> dict[str, Any]:
    """queued, running, done, or failed with the reason (an import of your jurisdiction or a narrower one)."""
    return names_import_view(record)


@router.get(
    "/regions/import/{job_id}/rejects",
    summary="The refused rows of a names import (CSV: line, code, reason)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"example": "line,code,reason\r\n3,53232510100,code: 11 digits…\r\n"}}}},
)
async def import_rejects(record: ScopedImportJob, admin: Admin, names: NamesImports) -> Response:
    """Every refused row in file order, with its line and why."""
    out = io.StringIO()
    writer = spreadsheet_writer(out)
    writer.writerow(["line", "code", "reason"])
    listed = await names.rejects(record.id)
    writer.writerows([r["line"], r["code"], r["reason"]] for r in listed)
    rejected = record.progress.get("rejected", 0)
    if rejected > len(listed):
        note = f"{rejected - len(listed)} more rows were refused: the report lists the first {len(listed)}"
        writer.writerow(["", "", f"{note} (REGIONS_REJECTS_KEPT)"])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
