"""The Redis job queues (saq): the services submit jobs to them, the jobs process (`python -m services.jobs`) alone
runs them.

  webhooks     one delivery per (alert change, subscription)                submitted by alerts (notify.py)
  imports      a department file's import (POST /imports)                   submitted by ingest
               a names import (POST /regions/import)                        submitted by the API
  training     a model training (POST /models/train)                        submitted by the API
  evaluations  a model's out-of-time evaluation (POST /models/{version}/evaluations)   submitted by the API
  upkeep       the audit archive, every ten minutes                         scheduled by the jobs process itself
A job's key makes it unique while it is queued or running. Every kind but webhook deliveries keeps a record of its
own (services/common/job_records.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq.job import Job, Status
from saq.queue.redis import RedisQueue

log = logging.getLogger(__name__)
WEBHOOKS, TRAINING, IMPORTS, EVALUATIONS, UPKEEP = "webhooks", "training", "imports", "evaluations", "upkeep"
T = TypeVar("T")


@dataclass(frozen=True)
class Kind:
    """A kind of recorded job: the name its records carry, the queue it waits in and its function's name there."""

    name: str
    queue: str
    function: str


FILE_IMPORT = Kind("import", IMPORTS, "import_file")
NAMES_IMPORT = Kind("region_import", IMPORTS, "import_region_names")
MODEL_TRAINING = Kind("training", TRAINING, "train_model")
MODEL_EVALUATION = Kind("evaluation", EVALUATIONS, "evaluate_model")
KINDS = (FILE_IMPORT, NAMES_IMPORT, MODEL_TRAINING, MODEL_EVALUATION)


# Lists the active jobs, at most once per `lock` seconds across every worker of the queue (as saq's own sweep).
_ACTIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
redis.call('SETEX', KEYS[1], ARGV[1], 1)
local found = {}
for i, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do found[i] = {id, redis.call('GET', id)} end
return found
"""


class JobQueue(RedisQueue):
    """A saq queue on Redis that waits out a Redis outage instead of spinning on it, and sweeps safely.

    saq's own sweep takes a job just moved to the active list, whose worker has not marked it active yet, for an
    abandoned one, and drops it from the active list seconds before putting it back in the queue: a sweeper killed
    in between loses the job. Here a job not marked active is swept only if it was so at the previous sweep too
    (no live worker takes that long), and a job is put back in the queue in one transaction (saq's retry).
    """

    def __init__(self, redis: Redis, name: str):
        super().__init__(redis, name=name)
        self._active_jobs = redis.register_script(_ACTIVE)
        self._suspects: dict[str, int] = {}  # job id -> `touched` of jobs seen in the active list, not marked active

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        """Put back in the queue the jobs of dead workers (past their timeout or heartbeat); returns their ids."""
        swept, suspects = [], {}
        for raw_id, raw in await self._active_jobs(
            keys=[self.namespace("sweep"), self.namespace("active")], args=[lock]
        ):
            job_id, job = raw_id.decode(), self.deserialize(raw)
            if job is None:
                await self.redis.lrem(self.namespace("active"), 0, raw_id)
                continue
            if job.status != Status.ACTIVE and self._suspects.get(job_id) != job.touched:
                suspects[job_id] = job.touched
                continue
            if job.stuck or job.status != Status.ACTIVE:
                log.info("sweeping job %s of a dead worker (attempt %d)", job.key, job.attempts)
                if job.retryable:
                    await self.retry(job, error=self.swept_error_message)
                else:
                    await self.finish(job, Status.FAILED, error=self.swept_error_message)
                swept.append(job_id)
        self._suspects = suspects
        return swept

    async def dequeue(self, timeout: float = 0.0, poll_interval: float = 0.0) -> Job | None:
        """The next job (None after `timeout`, or after a second when Redis cannot be reached)."""
        try:
            return await super().dequeue(timeout, poll_interval)
        except (RedisError, OSError) as exc:
            log.warning("job queue %s unreachable: %s", self.name, exc)
            await asyncio.sleep(1)
            return None


def job_queue(redis_url: str, name: str) -> JobQueue:
    """The named queue on its own connections (a worker holds one per job slot, blocked waiting for work)."""
    return JobQueue(Redis.from_url(redis_url), name=name)


async def with_heartbeat(job: Job, work: Awaitable[T], every: float) -> T:
    """Await `work`, touching the job every `every` seconds so that the queue knows its worker is alive; cancelled,
    cancel `work` too."""
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    while True:
        try:
            done, _ = await asyncio.wait({task}, timeout=every)
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
        if done:
            return task.result()
        try:
            await job.update()
        except (RedisError, OSError) as exc:  # a Redis restart: the job goes on, the next beat gets through
            log.warning("heartbeat of job %s missed: %s", job.key, exc)


def long_job(heartbeat: int, ttl: int = 30 * 24 * 3600) -> dict[str, Any]:
    """Options of a job that runs for minutes: no time limit, a heartbeat instead, retried after a worker dies."""
    return {"timeout": 0, "heartbeat": heartbeat, "retries": 5, "ttl": ttl}


def in_daemon_thread(work: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Run blocking `work` in a daemon thread (one the process need not wait for when it stops)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = work(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=run, name=f"job-{getattr(work, '__name__', 'work')}", daemon=True).start()
    return future


def _settle(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
