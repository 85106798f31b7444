"""The score consumer: turns scores into alert changes, one open alert per household."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from services.alerts.changes import ChangeLog, ChangeNotApplied
from services.alerts.offsets import consume_batches
from services.alerts.store import AlertStore
from services.alerts.workflow import apply_score
from services.common import topics
from services.common.policy import PolicyBook
from services.common.scores import Score

log = logging.getLogger(__name__)
STALE_RETRIES = 5


class ScoreConsumer:
    """At-least-once: offsets are committed after every change is projected; each change is idempotent."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        store: AlertStore,
        changes: ChangeLog,
        policies: PolicyBook,
        scores_topic: str = topics.SCORES,
    ):
        self._consumer = AIOKafkaConsumer(
            scores_topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._store = store
        self._changes = changes
        self._policies = policies

    async def handle(self, score: Score) -> None:
        """Apply one score to the household's alert (retrying when a person's change got in first), then figures."""
        for _ in range(STALE_RETRIES):
            current = await self._store.latest_for_household(score.household_id)
            changed = apply_score(current, score, self._policies, datetime.now(UTC))
            if changed is None:
                break
            kind = changed.history[-1].change
            if await self._changes.commit(changed, kind, "system", changed.updated_at):
                log.info("alert %s", kind, extra={"alert_id": changed.id, "score_id": score.score_id})
                break
        else:
            raise ChangeNotApplied(f"score {score.score_id}: the alert kept changing underneath; retried later")
        await self._store.record_score(score)

    async def _handle_in_order(self, scores: list[Score]) -> None:
        for score in scores:
            await self.handle(score)

    async def handle_batch(self, messages: list[ConsumerRecord]) -> None:
        """Apply a batch of scores: households concurrently, each household's in order; all finish before a failure."""
        by_household: dict[str, list[Score]] = defaultdict(list)
        for message in messages:
            score = Score.from_json(message.value)
            by_household[score.household_id].append(score)
        handled = [self._handle_in_order(scores) for scores in by_household.values()]
        failures = [r for r in await asyncio.gather(*handled, return_exceptions=True) if r is not None]
        if failures:
            raise failures[0]

    async def run(self) -> None:
        """Consume until cancelled."""
        await consume_batches(self._consumer, self.handle_batch, "scores")
