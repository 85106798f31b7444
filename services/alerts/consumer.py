"""The score consumer: turns scores into alert changes, one open alert per household, a consumed batch at a time.

Per batch: one round trip reads every household's latest alert and which of its scores were handled before; the
changes of the whole batch are produced together and their outcomes awaited together; the households whose change
lost a race (a person's change got in first) are read again and retried; then one round trip records every score
in the households' figures and timelines. A household's scores are applied in order, so a batch ends where the same
scores one at a time would. Idempotent by score id: a score whose change an alert already has makes no new change,
and one already on the timeline is not recorded again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from services.alerts.changes import TRANSIENT, ChangeLog
from services.alerts.deadletters import DeadLetters
from services.alerts.positions import Positions, RolledBack
from services.alerts.raising import apply_score
from services.alerts.score_reading import DecodeErrors, read_score
from services.alerts.store import AlertStore
from services.common import topics
from services.common.alerts import Alert
from services.common.kafka import consume_batches
from services.common.kafka_auth import KafkaCredentials, client_options
from services.common.policy import PolicyBook
from services.common.probes import GroupMember
from services.common.score_records import ScoreRecord
from services.common.scores import Score

log = logging.getLogger(__name__)
STALE_RETRIES = 5  # a household whose changes lose this many races in a row is set aside (dead letter "stale")


class ScoreConsumer:
    """At-least-once: offsets are committed after every change is projected; each change is idempotent."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        store: AlertStore,
        changes: ChangeLog,
        policies: PolicyBook,
        dead_letters: DeadLetters,
        positions: Positions,
        scores_topic: str = topics.SCORES,
        credentials: KafkaCredentials | None = None,
    ):
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **client_options(credentials),
        )
        self._positions = positions
        self.member = GroupMember(self._resume)  # readiness: this consumer holds its group's assignment
        self._consumer.subscribe([scores_topic], listener=self.member)
        self._store = store
        self._changes = changes
        self._policies = policies
        self._dead_letters = dead_letters
        self._scores: dict[str, Score] = {}  # the red and yellow scores of the batch in hand, read in full

    async def handle_batch(self, messages: list[ConsumerRecord]) -> None:
        """Apply a batch of scores (see the module doc); unreadable ones are set aside as dead letters."""
        by_household: dict[str, list[tuple[ScoreRecord, ConsumerRecord]]] = defaultdict(list)
        for message in messages:
            try:
                record = read_score(message.value)
                checked = Score.from_json(message.value) if record.level != "green" else None  # those change alerts
            except (*DecodeErrors, ValidationError, ValueError, TypeError) as exc:
                await self._dead_letters.put(message, "unreadable", f"not a score record: {exc}")
                continue
            by_household[record.household_id].append((record, message))
            if checked is not None:
                self._scores[record.score_id] = checked
        pending = {household: [record for record, _ in pairs] for household, pairs in by_household.items()}
        try:
            for _ in range(STALE_RETRIES):
                if not pending:
                    break
                pending = await self._change_alerts(pending)
        finally:
            self._scores.clear()
        for household in pending:  # lost every race: the figures are still recorded below
            for record, message in by_household[household]:
                detail = f"score {record.score_id}: the household's alert kept changing underneath"
                await self._dead_letters.put(message, "stale", detail)
        await self._store.record_scores(record for pairs in by_household.values() for record, _ in pairs)
        await self._positions.save(messages)

    async def _change_alerts(self, pending: dict[str, list[ScoreRecord]]) -> dict[str, list[ScoreRecord]]:
        """Make and log the alert changes of these households' scores; returns the households that lost a race."""
        wanted = {h: [r.score_id for r in records] for h, records in pending.items()}
        contexts = await self._store.contexts(wanted, self._positions)  # never decided on a Redis gone back in time
        now = datetime.now(UTC)
        planned: list[tuple[str, Alert, str]] = []
        for household, records in pending.items():
            context = contexts[household]
            fresh = [r for r in records if r.level != "green" and r.score_id not in context.handled]
            if not fresh:
                continue  # green scores only move the figures; handled ones were redelivered
            alert = context.alert()
            for record in fresh:
                changed = apply_score(alert, self._scores[record.score_id], self._policies, now)
                if changed is not None:
                    planned.append((household, changed, changed.history[-1].change))
                    alert = changed
        successors = [(alert, kind, "system", alert.updated_at) for _, alert, kind in planned]
        applied = await self._changes.commit_many(successors)
        for (_, alert, kind), done in zip(planned, applied, strict=True):
            if done:
                log.info("alert %s", kind, extra={"alert_id": alert.id, "score_id": alert.history[-1].score_id})
        lost = {household for (household, _, _), done in zip(planned, applied, strict=True) if not done}
        return {household: pending[household] for household in lost}

    async def _resume(self, partitions: Sequence[TopicPartition]) -> None:
        await self._positions.resume(self._consumer, partitions)

    async def _go_back(self, consumer: AIOKafkaConsumer) -> None:
        await self._positions.resume(consumer, sorted(consumer.assignment()))

    async def run(self) -> None:
        """Consume until cancelled."""
        await consume_batches(
            self._consumer, self.handle_batch, "scores", (*TRANSIENT, RolledBack), go_back=self._go_back
        )
