"""The jobs process: one saq worker per queue of services/jobs/handlers.py (webhook deliveries, imports of department
and names files, trainings, evaluations, upkeep), in one event loop; each queue has its own cap of jobs at a time per
jobs process, more wait queued.
Every JOBS_SWEEP_SECONDS each worker's sweep hands the jobs of a dead worker (past their timeout, or silent past
their heartbeat) to a worker again. SIGTERM or SIGINT stops every worker: running jobs are put back in their queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import httpx
from prometheus_client import start_http_server
from saq import Worker

from services.common.job_queues import job_queue
from services.common.logs import configure_logging
from services.common.settings import JobsSettings
from services.jobs.handlers import queue_handlers
from services.jobs.upgrade import upgrade_job_records

log = logging.getLogger(__name__)
# A worker waits this long for a job, then asks again: less than the Redis client's socket timeout (5 s), or the
# client would give up on a BLMOVE the server may still complete, leaving a job in the active list nobody runs.
DEQUEUE_SECONDS = 2


class QueueWorker(Worker):  # type: ignore[type-arg]
    """A saq worker that leaves signals to the process (several workers share one event loop)."""

    SIGNALS: list[signal.Signals] = []


def workers(settings: JobsSettings, client: httpx.AsyncClient) -> list[QueueWorker]:
    """One worker per queue, with the job functions of that queue."""
    timers = {"sweep": settings.jobs_sweep_seconds}
    return [
        QueueWorker(
            job_queue(settings.redis_url, handlers.queue),
            handlers.functions,  # type: ignore[arg-type]
            concurrency=handlers.concurrency,
            cron_jobs=handlers.cron,
            timers=timers,  # type: ignore[arg-type]
            dequeue_timeout=DEQUEUE_SECONDS,
        )
        for handlers in queue_handlers(settings, client)
    ]


async def main() -> None:
    """Run every worker until SIGTERM or SIGINT."""
    settings = JobsSettings()
    configure_logging(settings.log_level)
    if settings.jobs_metrics_port:
        start_http_server(settings.jobs_metrics_port, settings.bind_host)
    await upgrade_job_records(settings)
    async with httpx.AsyncClient(timeout=settings.webhook_timeout, follow_redirects=False) as client:
        running = workers(settings, client)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        started = [asyncio.create_task(worker.start()) for worker in running]
        log.info("jobs process ready: %s", ", ".join(worker.queue.name for worker in running))
        await stop.wait()
        for worker in running:
            worker.event.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*started)
