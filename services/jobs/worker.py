"""The jobs process: saq workers for webhook deliveries, trainings, imports, evaluations and upkeep, in one event loop.

Each queue has its own worker, so each kind has its own cap: WEBHOOK_CONCURRENCY deliveries, TRAINING_CONCURRENCY
trainings (each in a child process), IMPORT_CONCURRENCY imports, EVALUATION_CONCURRENCY evaluations (each in a child
process) at a time per jobs process; more wait queued.
Every JOBS_SWEEP_SECONDS each worker's sweep hands the jobs of a dead worker (past their timeout, or silent past
their heartbeat) to a worker again. SIGTERM or SIGINT stops every worker: running jobs are put back in their queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import httpx
from prometheus_client import start_http_server
from saq import CronJob, Worker

from services.alerts.subscriptions import SecretBox, SubscriptionStore
from services.alerts.targets import allowed_hosts
from services.alerts.webhooks import DELIVER, Deliverer
from services.analytics.training_jobs import TRAIN, Trainer
from services.api.audit_archive import archive_audit
from services.common.logs import configure_logging
from services.common.redis_connections import redis_client
from services.common.settings import JobsSettings, ScoringSettings
from services.ingest.imports import IMPORT, Imports
from services.jobs import queues
from services.jobs.evaluations import EVALUATE, Evaluator
from services.jobs.queues import job_queue

log = logging.getLogger(__name__)
# A worker waits this long for a job, then asks again: less than the Redis client's socket timeout (5 s), or the
# client would give up on a BLMOVE the server may still complete, leaving a job in the active list nobody runs.
DEQUEUE_SECONDS = 2


class QueueWorker(Worker):  # type: ignore[type-arg]
    """A saq worker that leaves signals to the process (several workers share one event loop)."""

    SIGNALS: list[signal.Signals] = []


def workers(settings: JobsSettings, client: httpx.AsyncClient) -> list[QueueWorker]:
    """One worker per queue, with the job functions of that queue."""
    redis = redis_client(settings.redis_url, decode_responses=True)
    key = settings.webhook_secret_key.get_secret_value() if settings.webhook_secret_key else None
    subscriptions = SubscriptionStore(redis, SecretBox(key))
    deliverer = Deliverer(redis, subscriptions, client, allowed_hosts(settings.webhook_allowed_hosts))
    trainer = Trainer(redis, ScoringSettings(), settings.jobs_heartbeat_seconds)
    evaluator = Evaluator(redis, settings.evaluation_dir, settings.jobs_heartbeat_seconds)
    imports = Imports(redis, settings)

    async def archive(ctx: dict[str, Any]) -> int:
        return await archive_audit(redis, settings.audit_archive_dir, settings.audit_retention_days)

    timers = {"sweep": settings.jobs_sweep_seconds}
    kinds: list[tuple[str, list[Any], int, list[CronJob[Any]]]] = [
        (queues.WEBHOOKS, [(DELIVER, deliverer.deliver)], settings.webhook_concurrency, []),
        (queues.TRAINING, [(TRAIN, trainer.train)], settings.training_concurrency, []),
        (queues.IMPORTS, [(IMPORT, imports.run)], settings.import_concurrency, []),
        (queues.EVALUATIONS, [(EVALUATE, evaluator.evaluate)], settings.evaluation_concurrency, []),
        (queues.UPKEEP, [], 1, [CronJob(archive, cron="*/10 * * * *", timeout=3600)]),
    ]
    return [
        QueueWorker(
            job_queue(settings.redis_url, name),
            functions,  # type: ignore[arg-type]
            concurrency=n,
            cron_jobs=cron,
            timers=timers,  # type: ignore[arg-type]
            dequeue_timeout=DEQUEUE_SECONDS,
        )
        for name, functions, n, cron in kinds
    ]


async def main() -> None:
    """Run every worker until SIGTERM or SIGINT."""
    settings = JobsSettings()
    configure_logging(settings.log_level)
    if settings.jobs_metrics_port:
        start_http_server(settings.jobs_metrics_port, settings.bind_host)
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
