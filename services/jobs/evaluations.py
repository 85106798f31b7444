"""Out-of-time evaluations as jobs on the evaluations queue: the API saves the uploaded files under EVALUATION_DIR and
queues the job (`EvaluationJobs`); the jobs process runs it (`Evaluator`, EVALUATION_CONCURRENCY at a time) in a
child process that alone parses the files and loads the analytics stack, so a large upload never sits in the API."""

from __future__ import annotations

import asyncio
import ctypes
import json
import multiprocessing
import secrets
import shutil
import signal
import sys
import threading
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from services.common.settings import ScoringSettings
from services.jobs.queues import in_daemon_thread, long_job, with_heartbeat

EVALUATE = "evaluate_model"  # the job function's name on the evaluations queue
_RECORD = "jobs:evaluation:{}"  # the job as GET /models/{version}/evaluations/jobs/{job} shows it (JSON)
_OPEN = "jobs:evaluation:open:{}"  # set of an analyst's queued or running evaluations


class EvaluationJobs:
    """The API's side: queue an evaluation of files already saved under `folder(job)`, and read its record."""

    def __init__(self, redis: Redis, queue: RedisQueue, heartbeat: int, root: Path):
        self._redis, self._queue, self._heartbeat, self._root = redis, queue, heartbeat, root

    @staticmethod
    def new_id() -> str:
        """A fresh job id."""
        return secrets.token_hex(8)

    def folder(self, job_id: str) -> Path:
        """Where the job's uploaded files are kept until it ends."""
        return self._root / job_id

    async def open_count(self, by: str) -> int:
        """How many evaluations `by` has queued or running."""
        return int(await self._redis.scard(_OPEN.format(by)))  # type: ignore[misc]

    async def start(self, job_id: str, by: str, request: dict[str, Any]) -> dict[str, Any]:
        """Queue the job (its files are in `folder(job_id)`) and return its record."""
        record = {"job": job_id, "status": "queued", "by": by, "queued_at": _now(), **request}
        await self._redis.set(_RECORD.format(job_id), json.dumps(record))
        await self._redis.sadd(_OPEN.format(by), job_id)  # type: ignore[misc]
        await self._queue.enqueue(EVALUATE, key=job_id, job_id=job_id, **long_job(self._heartbeat, ttl=7 * 86400))
        return record

    async def record(self, job_id: str) -> dict[str, Any] | None:
        """The job's status, and its summary once done."""
        raw = await self._redis.get(_RECORD.format(job_id))
        return json.loads(raw) if raw else None


class Evaluator:
    """The jobs process's side: one evaluation in a child process, its outcome in the job's record."""

    def __init__(self, redis: Redis, root: Path, heartbeat: int):
        self._redis, self._root, self._heartbeat = redis, root, heartbeat

    async def evaluate(self, ctx: dict[str, Any], *, job_id: str) -> dict[str, Any]:
        """The job: score the uploaded period; the record says done with the summary, or failed with the reason."""
        job, record = ctx["job"], json.loads(await self._redis.get(_RECORD.format(job_id)) or "{}")
        await self._update(job_id, status="running", started_at=_now(), attempt=job.attempts)
        stop = threading.Event()  # set when the worker stops: the child is killed, the job runs again later
        try:
            work = in_daemon_thread(_in_child_process, record, self._root / job_id, stop)
            outcome = await with_heartbeat(job, work, max(1, self._heartbeat / 3))
        except asyncio.CancelledError:
            stop.set()
            raise
        except RuntimeError as exc:  # the child died (out of memory, killed): the same files would do it again
            outcome = {"error": str(exc), "refused": False}
        if "error" in outcome:
            await self._finish(job_id, record, status="failed", error=outcome["error"], refused=outcome["refused"])
        else:
            await self._finish(job_id, record, status="done", summary=outcome["summary"])
        return {"status": "done" if "summary" in outcome else "failed"}

    async def _finish(self, job_id: str, record: dict[str, Any], **fields: Any) -> None:
        await self._update(job_id, finished_at=_now(), **fields)
        await self._redis.srem(_OPEN.format(record.get("by", "")), job_id)  # type: ignore[misc]
        shutil.rmtree(self._root / job_id, ignore_errors=True)

    async def _update(self, job_id: str, **fields: Any) -> None:
        key = _RECORD.format(job_id)
        record = json.loads(await self._redis.get(key) or "{}")
        await self._redis.set(key, json.dumps(record | fields), keepttl=True)


def _in_child_process(record: dict[str, Any], files: Path, stop: threading.Event) -> Any:
    """Evaluate in a child process; killed when the job is stopped."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_evaluate_child, args=(sending, record, str(files)), daemon=True)
    child.start()
    try:
        while not receiving.poll(1.0):
            if stop.is_set():
                raise RuntimeError("the evaluation was stopped")
            if not child.is_alive():
                raise RuntimeError(f"the evaluation process ended without a result (exit code {child.exitcode})")
        return receiving.recv()
    finally:
        if child.is_alive():
            child.kill()
        child.join()


def _evaluate_child(sending: Connection, record: dict[str, Any], files: str) -> None:
    if sys.platform.startswith("linux"):  # dies with the jobs process, even one killed with -9
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    try:
        summary = run_evaluation(ScoringSettings(), record, Path(files))
        sending.send({"summary": summary})
    except ValueError as exc:  # the request or its files: refused with the reason (422)
        sending.send({"error": str(exc)[:1000], "refused": True})
    except Exception as exc:  # noqa: BLE001 - reported to the job's record
        sending.send({"error": f"{type(exc).__name__}: {exc}"[:1000], "refused": False})


def run_evaluation(settings: ScoringSettings, record: dict[str, Any], files: Path) -> dict[str, Any]:
    """Score the uploaded later period with the version exactly as the stream would; store and return the summary."""
    from services.analytics.history import group, read_events
    from services.analytics.labels import Labels, read_outcomes
    from services.analytics.out_of_time import evaluate_period, save_evaluation
    from services.analytics.training_set import later_cutoffs
    from services.common.policy import PolicyBook

    found = Labels(read_outcomes(files / record["labels_file"]))
    if record["at"]:
        cutoffs = sorted({date.fromisoformat(day.strip()) for day in record["at"].split(",") if day.strip()})
    else:
        cutoffs = later_cutoffs(found, date.fromisoformat(record["test_from"]))
    history, rejects = read_events(files / "events.jsonl", record["max_rejects"])
    result = evaluate_period(settings.model_dir, record["version"], group(history), found, cutoffs,
                             PolicyBook.load(settings.policy_dir))  # fmt: skip
    folder = settings.model_dir / record["version"] / "evaluations" / record["evaluation"]
    return save_evaluation(result, folder) | {"evaluation": record["evaluation"], "rejected": len(rejects)}


def _now() -> str:
    return datetime.now(UTC).isoformat()
