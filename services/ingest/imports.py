"""`POST /imports`: upload a department file; the import runs as a job of the jobs process (`python -m services.jobs`,
services/jobs/imports.py).

The upload is saved under IMPORT_DIR (shared with the jobs process) and its job recorded and queued on the imports
queue (kind `import`); the job sends the rows to ingest in batches with JOBS_INGEST_KEY, each batch naming its job
(`IMPORT_JOB_HEADER`): ingest checks the rows against the grant of the key that uploaded the file (kept in the job's
request) as well as the sending key's, so a file never writes what its uploader could not.
"""

import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from redis.asyncio import Redis

from services.common.errors import errors
from services.common.grants import IngestGrant
from services.common.job_queues import FILE_IMPORT
from services.common.job_records import JobRecord, Jobs, JobStore
from services.common.job_views import file_import_view
from services.common.settings import IngestSettings
from services.common.uploads import json_instead_of_file
from services.ingest.mapping import Mapping
from services.ingest.validation import source_allowed

IMPORT_JOB_HEADER = "x-shouwang-import-job"  # names the import job a batch of rows belongs to
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def import_grant(store: JobStore, job_id: str) -> IngestGrant | None:
    """The grant of the key that uploaded the job's file (None: no such job)."""
    record = await store.get(FILE_IMPORT, job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    return None if record is None else IngestGrant.from_record(record.request["grant"])


def imports_router(settings: IngestSettings, redis: Redis, grant_of_key: Any) -> APIRouter:
    """Routes for file imports: upload (queues a job), status, rejects report."""
    router = APIRouter(tags=["imports"])
    Grant = Annotated[IngestGrant, Depends(grant_of_key)]
    jobs = Jobs(redis, settings.redis_url, settings.jobs_heartbeat_seconds)

    async def job(job_id: str, grant: IngestGrant) -> JobRecord:
        record = await jobs.store.get(FILE_IMPORT, job_id) if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
        if record is None:
            raise HTTPException(404, f"no import job {job_id}")
        uploader = IngestGrant.from_record(record.request["grant"])
        if not source_allowed(record.request["source"], grant.source_prefix) or (
            grant.regions is not None and uploader.narrowed(grant) != uploader
        ):
            raise HTTPException(403, "this import belongs to a source or regions outside your key's")
        return record

    names = sorted(path.stem for path in settings.import_mappings_dir.glob("*.toml"))
    Named = Annotated[str, Query(description="a mapping of IMPORT_MAPPINGS_DIR, without .toml",
                                 json_schema_extra={"enum": names} if names else None)]  # fmt: skip

    @router.post("/imports", status_code=202, summary="Upload a department file (CSV, JSONL, XLSX) to import",
                 responses=errors(404))  # fmt: skip
    async def upload(request: Request, file: UploadFile, mapping: Named, grant: Grant) -> dict[str, Any]:
        """Queues an import job with a mapping from the mappings folder (by name, without .toml); its rows are
        checked against this key's sources and regions."""
        mapping_path = settings.import_mappings_dir / f"{_SAFE_NAME.sub('', mapping)}.toml"
        if not mapping_path.is_file():
            raise HTTPException(404, f"mapping: no mapping named {mapping!r} in IMPORT_MAPPINGS_DIR")
        rules = Mapping.load(mapping_path)
        if not grant.covers_source(rules.source):
            regions = f" and regions {' | '.join(grant.regions)}" if grant.regions is not None else ""
            raise HTTPException(
                403, f"mapping: source {rules.source} is outside your key's prefix {grant.source_prefix}{regions}"
            )
        job_id = uuid.uuid4().hex
        folder = settings.import_dir / job_id
        folder.mkdir(parents=True)
        path = folder / _SAFE_NAME.sub("_", Path(file.filename or "upload.csv").name)
        with path.open("wb") as target:
            while chunk := await file.read(1 << 20):
                target.write(chunk)
        refusal = json_instead_of_file(path, rows_may_be_objects=path.suffix.lower() in (".jsonl", ".ndjson"))
        if refusal is not None:
            shutil.rmtree(folder, ignore_errors=True)
            raise HTTPException(422, [{"loc": ["body", "file"], "msg": refusal, "type": "not_a_file"}])
        wanted = {"source": rules.source, "mapping": mapping, "file": path.name, "grant": grant.as_record()}
        return file_import_view(await jobs.submit(FILE_IMPORT, job_id, request=wanted))

    @router.get("/imports/{job_id}", summary="An import job's status and counts")
    async def status(job_id: str, grant: Grant) -> dict[str, Any]:
        """queued, running, retrying, done (with counts) or failed (with the reason)."""
        return file_import_view(await job(job_id, grant))

    @router.get("/imports/{job_id}/rejects", summary="The rejects report (CSV: row, field, reason)")
    async def rejects(job_id: str, grant: Grant) -> FileResponse:
        """The refused rows of the job's file."""
        record = await job(job_id, grant)
        report = settings.import_dir / job_id / f"{record.request['file']}.rejects.csv"
        if not report.is_file():
            raise HTTPException(404, "no rejects report yet")
        return FileResponse(report, media_type="text/csv")

    return router
