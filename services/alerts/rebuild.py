"""Rebuild the Redis projection from Kafka: household figures from `scores`, alerts from the change log."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from services.alerts.changes import Change, read_log
from services.alerts.store import AlertStore
from services.common import topics
from services.common.scores import Score
from services.common.settings import AlertsSettings

log = logging.getLogger(__name__)


async def rebuild(
    store: AlertStore, bootstrap_servers: str, changes_topic: str, scores_topic: str = topics.SCORES
) -> tuple[int, int]:
    """Wipe alert and household keys, replay both topics; returns (scores replayed, changes applied)."""
    wiped = await store.wipe()
    log.info("wiped %d keys", wiped)
    scores = applied = 0
    async for raw in read_log(bootstrap_servers, scores_topic):
        await store.record_score(Score.from_json(raw))
        scores += 1
    async for raw in read_log(bootstrap_servers, changes_topic):
        applied += await store.apply(Change.model_validate_json(raw), live=False)
    return scores, applied


async def main() -> None:
    """`python -m services.alerts rebuild`: run it while the alerts service and the API are stopped."""
    from services.common.logs import configure_logging

    settings = AlertsSettings()
    configure_logging(settings.log_level)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        scores, applied = await rebuild(
            AlertStore(redis), settings.kafka_bootstrap_servers, settings.alerts_changes_topic, settings.scores_topic
        )
    finally:
        await redis.aclose()
    print(f"rebuilt: {scores} scores replayed, {applied} alert changes applied", flush=True)
