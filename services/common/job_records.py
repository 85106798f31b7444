"""Every recorded job's record, whatever its kind (a department file's import, a names import, a training, an
evaluation): one shape, one Redis hash per job, read and written only here; and the one way a job is submitted.

Key `jobs:record:{kind}:{id}`, a hash:
  id, kind, status (queued, running, retrying, done, failed), by (who submitted it, when one of staff did),
  region (the jurisdiction the job writes in, when it has one), submitted_at, started_at, finished_at (ISO 8601, UTC),
  attempt (runs started), error (why it failed, or why its last run did), refused ("1": failed for its request or
  files, which the submitter must fix), request and result (JSON: what was asked, what it gave),
  `progress:<name>` counters a running job moves (a names import moves its line and counts in the same Redis step as
  its names: services/regions/importer.py).
Key `jobs:open:{kind}:{by}`, a set: the submitter's jobs of that kind not yet done or failed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from services.common.job_queues import JobQueue, Kind, job_queue, long_job

QUEUED, RUNNING, RETRYING, DONE, FAILED = "queued", "running", "retrying", "done", "failed"
PROGRESS = "progress:"  # prefix of a record's progress counters
Fields = dict[FieldT, EncodableT]  # a record's hash fields as written
_SCALARS = ("id", "kind", "status", "by", "region", "submitted_at", "started_at", "finished_at", "error")


def record_key(kind: Kind, job_id: str) -> str:
    """The job's record."""
    return f"jobs:record:{kind.name}:{job_id}"


def open_key(kind: Kind, by: str) -> str:
    """The submitter's unfinished jobs of the kind."""
    return f"jobs:open:{kind.name}:{by}"


class JobFailed(Exception):
    """The job failed for good: another run would fail the same way (`refused`: its request or files are at fault)."""

    def __init__(self, reason: str, *, refused: bool = False):
        super().__init__(reason)
        self.refused = refused


class JobOvertaken(Exception):
    """Another run of the same job has moved its progress: this run stops and leaves the record to it."""


@dataclass(frozen=True)
class JobRecord:
    """A job as its record keeps it."""

    id: str
    kind: str
    status: str
    by: str = ""
    region: str = ""
    submitted_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    attempt: int = 0
    error: str | None = None
    refused: bool = False
    request: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    progress: dict[str, int] = field(default_factory=dict)

    @property
    def plain_status(self) -> str:
        """queued, running, done or failed: a job waiting for its next attempt counts as queued."""
        return QUEUED if self.status == RETRYING else self.status


class JobStore:
    """The records of every kind of job, over one Redis."""

    def __init__(self, redis: Redis):
        self.redis = redis

    async def get(self, kind: Kind, job_id: str) -> JobRecord | None:
        """The job's record, or None."""
        raw = await self.redis.hgetall(record_key(kind, job_id))  # type: ignore[misc]
        if not raw:
            return None
        found = {_text(name): _text(value) for name, value in raw.items()}
        progress = {
            name.removeprefix(PROGRESS): int(value) for name, value in found.items() if name.startswith(PROGRESS)
        }
        return JobRecord(
            found["id"],
            found["kind"],
            found["status"],
            by=found.get("by", ""),
            region=found.get("region", ""),
            submitted_at=found.get("submitted_at"),
            started_at=found.get("started_at"),
            finished_at=found.get("finished_at"),
            error=found.get("error"),
            attempt=int(found.get("attempt") or 0),
            refused=found.get("refused") == "1",
            request=json.loads(found.get("request") or "{}"),
            result=json.loads(found["result"]) if "result" in found else None,
            progress=progress,
        )

    async def submit(
        self,
        kind: Kind,
        job_id: str,
        *,
        by: str = "",
        region: str = "",
        request: Mapping[str, Any],
        progress: Mapping[str, int] | None = None,
    ) -> JobRecord:
        """Record the job as queued: a new record with `progress`, or with None an unfinished one's progress kept."""
        key = record_key(kind, job_id)
        fields: Fields = {"id": job_id, "kind": kind.name, "status": QUEUED, "by": by, "region": region}
        fields |= {"submitted_at": _now(), "request": json.dumps(request, ensure_ascii=False)}
        async with self.redis.pipeline(transaction=True) as pipe:
            if progress is None:
                pipe.hdel(key, "started_at", "finished_at", "error", "refused", "result")
            else:
                pipe.delete(key)
                fields |= {f"{PROGRESS}{name}": value for name, value in progress.items()}
            pipe.hset(key, mapping=fields)
            if by:
                pipe.sadd(open_key(kind, by), job_id)
            await pipe.execute()
        record = await self.get(kind, job_id)
        assert record is not None  # written just above
        return record

    async def put(self, kind: Kind, record: JobRecord) -> bool:
        """Write a whole record (one converted from an earlier layout) unless the job has one; False if it has."""
        key = record_key(kind, record.id)
        fields: Fields = {name: getattr(record, name) for name in _SCALARS if getattr(record, name) is not None}
        fields |= {"attempt": record.attempt, "refused": "1" if record.refused else "0"}
        fields |= {"request": json.dumps(record.request, ensure_ascii=False)}
        fields |= {} if record.result is None else {"result": json.dumps(record.result, ensure_ascii=False)}
        fields |= {f"{PROGRESS}{name}": value for name, value in record.progress.items()}
        if await self.redis.exists(key):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            if record.by and record.status in (QUEUED, RUNNING, RETRYING):
                pipe.sadd(open_key(kind, record.by), record.id)
            await pipe.execute()
        return True

    async def started(self, kind: Kind, job_id: str, attempt: int) -> None:
        """The job's run number `attempt` has begun."""
        fields: Fields = {"status": RUNNING, "started_at": _now(), "attempt": attempt}
        await self.redis.hset(record_key(kind, job_id), mapping=fields)  # type: ignore[misc]

    async def finished(self, kind: Kind, job_id: str, result: Mapping[str, Any]) -> None:
        """The job is done with `result`."""
        key = record_key(kind, job_id)
        fields: Fields = {"status": DONE, "finished_at": _now(), "result": json.dumps(result, ensure_ascii=False)}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.hdel(key, "error", "refused")
            await pipe.execute()
        await self._closed(kind, job_id)

    async def failed(self, kind: Kind, job_id: str, reason: str, *, refused: bool = False, final: bool = True) -> None:
        """The job failed for `reason`: for good (`final`), or its next attempt waits in the queue (retrying)."""
        fields: Fields = {"status": FAILED if final else RETRYING, "error": reason[:1000]}
        fields |= {"finished_at": _now(), "refused": "1" if refused else "0"} if final else {}
        await self.redis.hset(record_key(kind, job_id), mapping=fields)  # type: ignore[misc]
        if final:
            await self._closed(kind, job_id)

    async def open_count(self, kind: Kind, by: str) -> int:
        """How many jobs of the kind `by` has queued or running."""
        return int(await self.redis.scard(open_key(kind, by)))  # type: ignore[misc]

    async def _closed(self, kind: Kind, job_id: str) -> None:
        by = await self.redis.hget(record_key(kind, job_id), "by")  # type: ignore[misc]
        if by:
            await self.redis.srem(open_key(kind, _text(by)), job_id)  # type: ignore[misc]


Work = Callable[[JobRecord], Awaitable[Mapping[str, Any]]]


async def run_recorded(
    store: JobStore, kind: Kind, job_id: str, work: Work, *, attempt: int = 1, final: bool = True
) -> JobRecord | None:
    """Run `work` on the job's record, which says running, then done with its result, or failed with the reason
    (retrying when it raised something unforeseen and this is not the `final` attempt; then it raises it again).
    A job whose record says it ended is not run again (its worker died before the queue knew); None: no record."""
    record = await store.get(kind, job_id)
    if record is None or record.status in (DONE, FAILED):
        return record
    await store.started(kind, job_id, attempt)
    try:
        result = await work(record)
    except JobFailed as exc:
        await store.failed(kind, job_id, str(exc), refused=exc.refused)
    except JobOvertaken:
        pass
    except Exception as exc:
        await store.failed(kind, job_id, str(exc) or type(exc).__name__, final=final)
        raise
    else:
        await store.finished(kind, job_id, result)
    return await store.get(kind, job_id)


class Jobs:
    """What the services submit recorded jobs through: the job's record, then its place in its kind's queue."""

    def __init__(self, redis: Redis, redis_url: str, heartbeat: int):
        self.store = JobStore(redis)
        self._redis_url, self._heartbeat = redis_url, heartbeat
        self._queues: dict[str, JobQueue] = {}

    async def submit(
        self, kind: Kind, job_id: str, *, by: str = "", region: str = "", request: Mapping[str, Any]
    ) -> JobRecord:
        """Record a new job as queued and queue it."""
        record = await self.store.submit(kind, job_id, by=by, region=region, request=request, progress={})
        await self.enqueue(kind, job_id)
        return record

    async def enqueue(self, kind: Kind, job_id: str) -> None:
        """Queue the recorded job (once: a job queued or running already stays as it is)."""
        if kind.queue not in self._queues:
            self._queues[kind.queue] = job_queue(self._redis_url, kind.queue)
        queue = self._queues[kind.queue]
        await queue.enqueue(kind.function, key=job_id, job_id=job_id, **long_job(self._heartbeat))


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
