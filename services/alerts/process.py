"""The alerts process: score consumer, change projector, deadline watch and webhook routing (to the jobs queue)."""

from __future__ import annotations

import asyncio

from services.alerts.changes import ChangeLog
from services.alerts.consumer import ScoreConsumer
from services.alerts.deadletters import DeadLetters
from services.alerts.notify import Notifier
from services.alerts.positions import Positions
from services.alerts.projector import Projector
from services.alerts.store import AlertStore
from services.alerts.subscriptions import SubscriptionStore
from services.alerts.watch import DeadlineWatch
from services.alerts.webhooks import WebhookJobs
from services.common import job_queues, topics
from services.common.heap import settle_heap
from services.common.job_queues import job_queue
from services.common.logs import configure_logging
from services.common.policy import PolicyBook
from services.common.probes import redis_reachable, serve_probes
from services.common.redis_connections import redis_client
from services.common.settings import AlertsSettings
from services.regions.directory import RegionDirectory


async def main() -> None:
    """Run every part until one fails or the process is stopped."""
    settings = AlertsSettings()
    configure_logging(settings.log_level)
    settle_heap(settings.gc_young_threshold)
    used = [settings.scores_topic, settings.alerts_changes_topic, topics.ALERTS_DEADLETTER]
    await asyncio.to_thread(topics.await_topics, settings.kafka_bootstrap_servers, used, settings)
    redis = redis_client(settings.redis_url, decode_responses=True)
    store = AlertStore(redis, settings.alerts_score_ids_kept)
    webhooks = WebhookJobs(
        job_queue(settings.redis_url, job_queues.WEBHOOKS),
        settings.webhook_max_attempts,
        settings.webhook_backoff,
        settings.webhook_backoff_max,
        settings.webhook_timeout,
        settings.webhook_keep_hours * 3600,
    )
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.alerts_changes_topic
    changes = ChangeLog(bootstrap, topic, redis, settings.alerts_change_wait, settings.alerts_history_kept, settings)
    await changes.start()
    projection_group = f"{settings.alerts_group_id}-projector"
    projector = Projector(
        bootstrap,
        topic,
        projection_group,
        store,
        DeadLetters(changes.producer, "projector"),
        Positions(redis, projection_group),
        settings,
    )
    scores = ScoreConsumer(
        bootstrap,
        settings.alerts_group_id,
        store,
        changes,
        PolicyBook.load(settings.policy_dir),
        DeadLetters(changes.producer, "scores"),
        Positions(redis, settings.alerts_group_id),
        settings.scores_topic,
        settings,
    )

    async def readiness() -> dict[str, bool]:
        groups = {"scores_group": scores.member.assigned, "changes_group": projector.member.assigned}
        return {**groups, "redis": await redis_reachable(redis)}

    if settings.alerts_metrics_port:
        await serve_probes(settings.bind_host, settings.alerts_metrics_port, readiness)
    parts = [
        projector.run(),
        scores.run(),
        DeadlineWatch(store, changes, settings.alerts_deadline_interval).run(),
        Notifier(
            redis,
            SubscriptionStore(redis),
            webhooks,
            RegionDirectory(redis),
            settings.alerts_outbox_retention_hours,
            settings.alerts_outbox_claim_idle_seconds,
        ).run(),
    ]
    try:
        await asyncio.gather(*parts)
    finally:
        await changes.stop()
        await redis.aclose()
