"""The one place that says what the jobs process runs: each queue's job functions and how many run at a time.

  webhooks     deliver_webhook      services/alerts/webhooks.py        WEBHOOK_CONCURRENCY
  imports      import_file          services/jobs/imports.py           IMPORT_CONCURRENCY, both kinds together
               import_region_names  services/jobs/region_imports.py
  training     train_model          services/jobs/trainings.py         TRAINING_CONCURRENCY
  evaluations  evaluate_model       services/jobs/evaluations.py       EVALUATION_CONCURRENCY
  upkeep       the audit archive    services/api/audit_archive.py      every ten minutes
Every kind with a record runs through `recorded`: its record says running, then done or failed
(services/common/job_records.py), and the job's heartbeat goes on while it works.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from saq import CronJob
from saq.job import Job

from services.alerts.subscriptions import SecretBox, SubscriptionStore
from services.alerts.targets import allowed_hosts
from services.alerts.webhooks import DELIVER, Deliverer
from services.api.audit_archive import archive_audit
from services.common import job_queues
from services.common.job_queues import (
    FILE_IMPORT,
    MODEL_EVALUATION,
    MODEL_TRAINING,
    NAMES_IMPORT,
    Kind,
    with_heartbeat,
)
from services.common.job_records import JobRecord, JobStore, Work, run_recorded
from services.common.redis_connections import redis_client
from services.common.settings import JobsSettings, ScoringSettings
from services.jobs.evaluations import Evaluator
from services.jobs.imports import FileImporter
from services.jobs.region_imports import NamesImporter
from services.jobs.trainings import Trainer
from services.regions.importer import RegionImports

log = logging.getLogger(__name__)
JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class QueueHandlers:
    """One queue's job functions (by name), how many of its jobs run at once, and its scheduled jobs."""

    queue: str
    functions: list[tuple[str, JobFunction]]
    concurrency: int
    cron: list[CronJob[Any]]


def recorded(kind: Kind, store: JobStore, work: Work, heartbeat: int) -> tuple[str, JobFunction]:
    """The job function of a kind with a record: `work` run on the record, the outcome written to it."""

    async def run(ctx: dict[str, Any], *, job_id: str, **_: Any) -> dict[str, Any]:  # earlier versions sent more
        job: Job = ctx["job"]

        async def beating(record: JobRecord) -> Mapping[str, Any]:
            return await with_heartbeat(job, work(record), max(1, heartbeat / 3))

        record = await run_recorded(store, kind, job_id, beating, attempt=job.attempts, final=not job.retryable)
        if record is None:
            log.warning("%s job %s has no record: nothing to run", kind.name, job_id)
        return {"status": record.status if record else "unknown"}

    return kind.function, run


def queue_handlers(settings: JobsSettings, client: httpx.AsyncClient) -> list[QueueHandlers]:
    """Every queue the jobs process works, with its handlers built from the settings."""
    redis = redis_client(settings.redis_url, decode_responses=True)
    store, beat = JobStore(redis), settings.jobs_heartbeat_seconds
    key = settings.webhook_secret_key.get_secret_value() if settings.webhook_secret_key else None
    deliverer = Deliverer(
        redis, SubscriptionStore(redis, SecretBox(key)), client, allowed_hosts(settings.webhook_allowed_hosts)
    )
    names = RegionImports(store, settings.regions_rejects_kept, settings.regions_import_max_rows)
    files, regions = FileImporter(settings), NamesImporter(names, settings.regions_import_dir)
    trainer, evaluator = Trainer(ScoringSettings()), Evaluator(settings.evaluation_dir)

    async def archive(ctx: dict[str, Any]) -> int:
        return await archive_audit(redis, settings.audit_archive_dir, settings.audit_retention_days)

    works: list[tuple[Kind, Work]] = [
        (FILE_IMPORT, files.run),
        (NAMES_IMPORT, regions.run),
        (MODEL_TRAINING, trainer.train),
        (MODEL_EVALUATION, evaluator.evaluate),
    ]

    def recorded_on(queue: str) -> list[tuple[str, JobFunction]]:
        return [recorded(kind, store, work, beat) for kind, work in works if kind.queue == queue]

    return [
        QueueHandlers(job_queues.WEBHOOKS, [(DELIVER, deliverer.deliver)], settings.webhook_concurrency, []),
        QueueHandlers(job_queues.IMPORTS, recorded_on(job_queues.IMPORTS), settings.import_concurrency, []),
        QueueHandlers(job_queues.TRAINING, recorded_on(job_queues.TRAINING), settings.training_concurrency, []),
        QueueHandlers(job_queues.EVALUATIONS, recorded_on(job_queues.EVALUATIONS), settings.evaluation_concurrency, []),
        QueueHandlers(job_queues.UPKEEP, [], 1, [CronJob(archive, cron="*/10 * * * *", timeout=3600)]),
    ]
