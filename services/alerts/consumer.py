"""The alerts service: consumes scores and keeps one open alert per household in Redis."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from services.alerts.store import AlertStore
from services.alerts.workflow import apply_score
from services.common import topics
from services.common.policy import PolicyBook
from services.common.scores import Score

log = logging.getLogger(__name__)


class ScoreConsumer:
    """At-least-once: offsets are committed after Redis has every change; each change is idempotent."""

    def __init__(self, bootstrap_servers: str, group_id: str, store: AlertStore, policies: PolicyBook):
        self._consumer = AIOKafkaConsumer(
            topics.SCORES,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._store = store
        self._policies = policies

    async def handle(self, score: Score) -> None:
        """Apply one score to the household's alert and figures."""
        current = await self._store.latest_for_household(score.household_id)
        changed = apply_score(current, score, self._policies, datetime.now(UTC))
        if changed is not None:
            await self._store.save(changed)
            log.info("alert %s", changed.history[-1].change, extra={"alert_id": changed.id, "score_id": score.score_id})
        await self._store.record_score(score)

    async def run(self) -> None:
        """Consume until cancelled."""
        await self._consumer.start()
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
                for messages in batches.values():
                    for message in messages:
                        await self.handle(Score.from_json(message.value))
                if batches:
                    await self._consumer.commit()
        finally:
            await self._consumer.stop()


async def main() -> None:
    """Entry point of the alerts process."""
    from services.common.logs import configure_logging
    from services.common.settings import AlertsSettings

    settings = AlertsSettings()
    configure_logging(settings.log_level)
    await asyncio.to_thread(topics.ensure_topics, settings.kafka_bootstrap_servers, settings.kafka_partitions)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    consumer = ScoreConsumer(
        settings.kafka_bootstrap_servers,
        settings.alerts_group_id,
        AlertStore(redis),
        PolicyBook.load(settings.policy_dir),
    )
    try:
        await consumer.run()
    finally:
        await redis.aclose()
