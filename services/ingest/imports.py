"""`POST /imports`: upload a department file; the import runs as a job of the jobs process (`python -m services.jobs`).

The upload is saved under IMPORT_DIR (shared with the jobs process) and its job queued on the imports queue; the job
sends the rows to ingest in batches with JOBS_INGEST_KEY, each batch naming its job (`IMPORT_JOB_HEADER`): ingest
checks the rows against the grant of the key that uploaded the file (kept with the job) as well as the sending key's,
so a file never writes what its uploader could not. A killed jobs process leaves the job active without a
heartbeat; the queue's sweep gives it to a worker again, and the importer continues after its last acknowledged
batch (`<file>.progress`), so every row counts once. Status and rejects are read as before.
"""

import asyncio
import json
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from redis.asyncio import Redis

from services.common.errors import errors
from services.common.grants import IngestGrant
from services.common.settings import IngestSettings, JobsSettings
from services.common.uploads import json_instead_of_file
from services.ingest.importer import FileRefused, Importer, ImportReport
from services.ingest.mapping import Mapping
from services.ingest.validation import source_allowed
from services.jobs import queues
from services.jobs.queues import in_daemon_thread, job_queue, long_job, with_heartbeat

IMPORT = "import_file"  # the job function's name on the imports queue
IMPORT_JOB_HEADER = "x-shouwang-import-job"  # names the import job a batch of rows belongs to
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ImportStopped(Exception):
    """The jobs process is stopping: the import ends at a row boundary and resumes from its checkpoint."""


async def import_grant(redis: Redis, job_id: str) -> IngestGrant | None:
    """The grant of the key that uploaded the job's file (None: no such job); jobs queued before grants were kept
    are held to their mapping's source."""
    raw = await redis.get(f"import:{job_id}") if re.fullmatch(r"[0-9a-f]{32}", job_id) else None
    if raw is None:
        return None
    record = json.loads(raw)
    return IngestGrant.from_record(record["grant"]) if "grant" in record else IngestGrant(record["source"])


async def _save(redis: Redis, job_id: str, **fields: Any) -> None:
    raw = await redis.get(f"import:{job_id}")
    await redis.set(f"import:{job_id}", json.dumps({**json.loads(raw or "{}"), **fields}, ensure_ascii=False))


def imports_router(settings: IngestSettings, redis: Redis, grant_of_key: Any) -> APIRouter:
    """Routes for file imports: upload (queues a job), status, rejects report."""
    router = APIRouter(tags=["imports"])
    Grant = Annotated[IngestGrant, Depends(grant_of_key)]
    queue = job_queue(settings.redis_url, queues.IMPORTS)

    async def job(job_id: str, grant: IngestGrant) -> dict[str, Any]:
        raw = await redis.get(f"import:{job_id}")
        if raw is None:
            raise HTTPException(404, f"no import job {job_id}")
        record: dict[str, Any] = json.loads(raw)
        uploader = await import_grant(redis, job_id)
        if not source_allowed(record["source"], grant.source_prefix) or (
            grant.regions is not None and (uploader is None or uploader.narrowed(grant) != uploader)
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
        await _save(redis, job_id, id=job_id, status="queued", source=rules.source, mapping=mapping, file=path.name,
                    grant=grant.as_record())  # fmt: skip
        await queue.enqueue(IMPORT, key=job_id, job_id=job_id, **long_job(settings.jobs_heartbeat_seconds))
        return await job(job_id, grant)

    @router.get("/imports/{job_id}", summary="An import job's status and counts")
    async def status(job_id: str, grant: Grant) -> dict[str, Any]:
        """queued, running, done (with counts) or failed (with the reason)."""
        return await job(job_id, grant)

    @router.get("/imports/{job_id}/rejects", summary="The rejects report (CSV: row, field, reason)")
    async def rejects(job_id: str, grant: Grant) -> FileResponse:
        """The refused rows of the job's file."""
        record = await job(job_id, grant)
        report = settings.import_dir / job_id / f"{record['file']}.rejects.csv"
        if not report.is_file():
            raise HTTPException(404, "no rejects report yet")
        return FileResponse(report, media_type="text/csv")

    return router


class Imports:
    """The jobs process's side: runs one import job, resuming from the file's checkpoint."""

    def __init__(self, redis: Redis, settings: JobsSettings):
        self._redis, self._settings = redis, settings

    async def run(self, ctx: dict[str, Any], *, job_id: str) -> dict[str, int]:
        """The job: import the uploaded file through ingest; the record says running, done or failed."""
        job = ctx["job"]
        record = json.loads(await self._redis.get(f"import:{job_id}") or "{}")
        await _save(self._redis, job_id, status="running", attempt=job.attempts)
        stop = threading.Event()
        try:
            key = self._settings.jobs_ingest_key
            if key is None:
                raise RuntimeError("JOBS_INGEST_KEY is not set: the jobs process has no key to send rows with")
            rules = Mapping.load(self._settings.import_mappings_dir / f"{record['mapping']}.toml")
            importer = Importer(
                rules,
                self._settings.ingest_url,
                key.get_secret_value(),
                rejects_kept=self._settings.import_rejects_kept,
                headers={IMPORT_JOB_HEADER: job_id},
            )
            path = self._settings.import_dir / job_id / record["file"]

            def row_done(_: int) -> None:
                if stop.is_set():
                    raise ImportStopped

            work = in_daemon_thread(importer.run, path, row_done)
            report: ImportReport = await with_heartbeat(job, work, max(1, self._settings.jobs_heartbeat_seconds / 3))
        except asyncio.CancelledError:
            stop.set()
            raise
        except FileRefused as exc:  # the same file would be refused again: the job ends here, failed
            await _save(self._redis, job_id, status="failed", error=str(exc)[:500])
            return {"refused": 1}
        except Exception as exc:
            final = job.attempts >= job.retries
            await _save(self._redis, job_id, status="failed" if final else "retrying", error=str(exc)[:500])
            raise
        await _save(self._redis, job_id, status="done", counts=report.as_dict())
        return report.as_dict()
