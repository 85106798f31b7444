"""The jobs records of earlier versions, in the one record shape: the jobs process converts them once, at its first
start, before it runs a job (so a job those versions accepted is neither lost nor shown differently).

  import:{id}              JSON, a department file's import        → kind `import`
  regions:job:{id}         hash, a names import (its rejects list  → kind `region_import`, rejects in
                           `regions:job:{id}:rejects`)                `regions:rejects:{id}`; an unfinished one whose
                                                                      upload is kept is queued (the API ran them)
  jobs:training:{id}       JSON, a training (its request in the    → kind `training`
                           saq job while it was queued)
  jobs:evaluation:{id}     JSON, an evaluation                     → kind `evaluation` (`jobs:evaluation:open:*` go)
A key already converted is only deleted; `jobs:records:upgraded` marks the pass done.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq.job import Status

from services.common import job_queues
from services.common.job_queues import FILE_IMPORT, MODEL_EVALUATION, MODEL_TRAINING, NAMES_IMPORT, Kind, job_queue
from services.common.job_records import JobRecord, Jobs
from services.common.redis_connections import redis_client
from services.common.settings import JobsSettings
from services.regions.importer import rejects_key, upload_path

log = logging.getLogger(__name__)
UPGRADED = "jobs:records:upgraded"
_EVALUATION_REQUEST = ("version", "evaluation", "at", "test_from", "max_rejects", "labels_file")


async def upgrade_job_records(settings: JobsSettings) -> None:
    """Convert the records of earlier versions (once), waiting for Redis when it cannot be reached."""
    redis = redis_client(settings.redis_url, decode_responses=True)
    try:
        while True:
            try:
                converted = await convert(redis, settings)
                break
            except (RedisError, OSError) as exc:
                log.warning("job records not converted yet, Redis unreachable: %s", exc)
                await asyncio.sleep(1)
    finally:
        await redis.aclose()
    if converted:
        log.info("converted %d job records of an earlier version", converted)


async def convert(redis: Redis, settings: JobsSettings) -> int:
    """Convert every record of the earlier layouts not converted yet; returns how many were."""
    if await redis.exists(UPGRADED):
        return 0
    jobs = Jobs(redis, settings.redis_url, settings.jobs_heartbeat_seconds)
    trainings = job_queue(settings.redis_url, job_queues.TRAINING)
    converted = 0
    async for key in redis.scan_iter(match="import:*", count=1000):
        if (found := re.fullmatch(r"import:([0-9a-f]{32})", key)) and (raw := await redis.get(key)):
            converted += await _moved(jobs, FILE_IMPORT, key, _file_import(found[1], json.loads(raw)))
    async for key in redis.scan_iter(match="regions:job:*", count=1000):
        if (found := re.fullmatch(r"regions:job:([0-9a-f]{64})", key)) and (old := await redis.hgetall(key)):
            record = _names_import(found[1], old)
            if await redis.exists(f"{key}:rejects") and not await redis.renamenx(
                f"{key}:rejects", rejects_key(record.id)
            ):
                await redis.delete(f"{key}:rejects")  # moved before
            converted += await _moved(jobs, NAMES_IMPORT, key, record)
            if record.status in ("queued", "running") and upload_path(settings.regions_import_dir, record.id).is_file():
                await jobs.enqueue(NAMES_IMPORT, record.id)
    async for key in redis.scan_iter(match="jobs:*", count=1000):
        if found := re.fullmatch(r"jobs:training:([0-9a-f]{16})", key):
            queued = await trainings.job(found[1])
            waiting = queued is not None and queued.status in (Status.QUEUED, Status.ACTIVE)
            request = queued.kwargs.get("request", {}) if queued is not None and queued.kwargs else {}
            record = _training(found[1], json.loads(await redis.get(key) or "{}"), request, waiting)
            converted += await _moved(jobs, MODEL_TRAINING, key, record)
        elif found := re.fullmatch(r"jobs:evaluation:([0-9a-f]{16})", key):
            record = _evaluation(found[1], json.loads(await redis.get(key) or "{}"))
            converted += await _moved(jobs, MODEL_EVALUATION, key, record)
        elif key.startswith("jobs:evaluation:open:"):
            await redis.delete(key)
    await redis.set(UPGRADED, converted)
    return converted


async def _moved(jobs: Jobs, kind: Kind, old_key: str, record: JobRecord) -> int:
    """Write the converted record (unless written before) and delete the old key."""
    written = await jobs.store.put(kind, record)
    await jobs.store.redis.delete(old_key)
    return int(written)


def _file_import(job_id: str, old: dict[str, Any]) -> JobRecord:
    grant = old.get("grant") or {"source_prefix": old["source"], "regions": None}  # before grants were kept
    request = {"source": old["source"], "mapping": old["mapping"], "file": old["file"], "grant": grant}
    return JobRecord(
        job_id,
        FILE_IMPORT.name,
        old["status"],
        attempt=int(old.get("attempt") or 0),
        error=old.get("error"),
        request=request,
        result=old.get("counts"),
    )


def _names_import(job_id: str, old: dict[Any, Any]) -> JobRecord:
    return JobRecord(
        job_id,
        NAMES_IMPORT.name,
        old.get("status", "queued"),
        by=old.get("by", ""),
        region=old.get("jurisdiction", ""),
        request={"file": old.get("file", "")},
        progress={name: int(old.get(name) or 0) for name in ("line", "changed", "unchanged", "rejected")},
        **_times(old),
    )


def _training(job_id: str, old: dict[str, Any], request: dict[str, Any], waiting: bool) -> JobRecord:
    """`waiting`: still in its queue, so a record saying failed meant a retry to come."""
    version = old.get("version")
    status = old.get("status", "queued")
    return JobRecord(
        job_id,
        MODEL_TRAINING.name,
        "retrying" if waiting and status == "failed" else status,
        by=old.get("by", ""),
        request=request | {"version": version},
        result={"version": version, "metrics": old.get("metrics")} if old.get("status") == "done" else None,
        **_times(old),
    )


def _evaluation(job_id: str, old: dict[str, Any]) -> JobRecord:
    return JobRecord(
        job_id,
        MODEL_EVALUATION.name,
        old.get("status", "queued"),
        by=old.get("by", ""),
        refused=bool(old.get("refused")),
        request={name: old.get(name) for name in _EVALUATION_REQUEST},
        result=old.get("summary"),
        **_times(old),
    )


def _times(old: dict[str, Any]) -> dict[str, Any]:
    """When an old record says its job was queued, started and finished, its attempts and its error."""
    return {
        "submitted_at": old.get("queued_at"),
        "started_at": old.get("started_at"),
        "finished_at": old.get("finished_at"),
        "attempt": int(old.get("attempt") or 0),
        "error": old.get("error"),
    }
