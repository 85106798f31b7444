"""`POST /imports`: upload a department file; the import runs as a job whose status and rejects can be fetched."""

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from redis.asyncio import Redis

from services.common.settings import IngestSettings
from services.ingest.importer import Importer
from services.ingest.mapping import Mapping
from services.ingest.validation import source_allowed

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def imports_router(
    settings: IngestSettings, redis: Redis, source_prefix: Any, tasks: set[Any]
) -> tuple[APIRouter, Callable[[], Awaitable[None]]]:
    """Routes for file imports, and the start-up step that resumes jobs a stopped ingest left unfinished."""
    router = APIRouter(tags=["imports"])
    Prefix = Annotated[str, Depends(source_prefix)]

    async def job(job_id: str, prefix: str) -> dict[str, Any]:
        raw = await redis.get(f"import:{job_id}")
        if raw is None:
            raise HTTPException(404, f"no import job {job_id}")
        record: dict[str, Any] = json.loads(raw)
        if not source_allowed(record["source"], prefix):
            raise HTTPException(403, "this import belongs to a source outside your key's prefix")
        return record

    async def save(job_id: str, **fields: Any) -> None:
        raw = await redis.get(f"import:{job_id}")
        await redis.set(f"import:{job_id}", json.dumps({**json.loads(raw or "{}"), **fields}, ensure_ascii=False))

    def start(job_id: str, path: Path, mapping: Mapping, key: str) -> None:
        task = asyncio.create_task(run(job_id, path, mapping, key))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def resume_unfinished() -> None:
        """Restart jobs a stopped ingest left queued or running (the importer continues from its checkpoint)."""
        keys = settings.api_keys()
        async for name in redis.scan_iter(match="import:*"):
            record = json.loads(await redis.get(name) or "{}")
            key = next((k for k, p in keys.items() if source_allowed(record.get("source", ""), p)), None)
            if record.get("status") in ("queued", "running") and key is not None:
                rules = Mapping.load(settings.import_mappings_dir / f"{record['mapping']}.toml")
                start(record["id"], settings.import_dir / record["id"] / record["file"], rules, key)

    async def run(job_id: str, path: Path, mapping: Mapping, key: str) -> None:
        await save(job_id, status="running")
        importer = Importer(mapping, f"http://127.0.0.1:{settings.ingest_port}", key)
        try:
            report = await asyncio.to_thread(importer.run, path)
        except Exception as exc:  # noqa: BLE001 - the job records why it stopped; a re-upload resumes it
            await save(job_id, status="failed", error=str(exc)[:500])
            return
        await save(job_id, status="done", counts=report.as_dict())

    @router.post("/imports", status_code=202, summary="Upload a department file (CSV, JSONL, XLSX) to import")
    async def upload(request: Request, file: UploadFile, mapping: str, prefix: Prefix) -> dict[str, Any]:
        """Starts an import job with a mapping from the mappings folder (by name, without .toml)."""
        mapping_path = settings.import_mappings_dir / f"{_SAFE_NAME.sub('', mapping)}.toml"
        if not mapping_path.is_file():
            raise HTTPException(422, f"mapping: no mapping named {mapping!r}")
        rules = Mapping.load(mapping_path)
        if not source_allowed(rules.source, prefix):
            raise HTTPException(403, f"mapping: source {rules.source} is outside your key's prefix {prefix}")
        job_id = uuid.uuid4().hex
        folder = settings.import_dir / job_id
        folder.mkdir(parents=True)
        path = folder / _SAFE_NAME.sub("_", Path(file.filename or "upload.csv").name)
        with path.open("wb") as target:
            while chunk := await file.read(1 << 20):
                target.write(chunk)
        await save(job_id, id=job_id, status="queued", source=rules.source, mapping=mapping, file=path.name)
        start(job_id, path, rules, request.state.ingest_key)
        return await job(job_id, prefix)

    @router.get("/imports/{job_id}", summary="An import job's status and counts")
    async def status(job_id: str, prefix: Prefix) -> dict[str, Any]:
        """queued, running, done (with counts) or failed (with the reason)."""
        return await job(job_id, prefix)

    @router.get("/imports/{job_id}/rejects", summary="The rejects report (CSV: row, field, reason)")
    async def rejects(job_id: str, prefix: Prefix) -> FileResponse:
        """The refused rows of the job's file."""
        record = await job(job_id, prefix)
        report = settings.import_dir / job_id / f"{record['file']}.rejects.csv"
        if not report.is_file():
            raise HTTPException(404, "no rejects report yet")
        return FileResponse(report, media_type="text/csv")

    return router, resume_unfinished
