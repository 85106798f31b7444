"""One batch of canonical events: each household's state read and written once, scores due sent first."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.common import failpoints, topics
from services.common.kafka import Outgoing
from services.common.policy import PolicyBook
from services.common.score_records import encoded
from services.scoring.activations import ActiveModel
from services.scoring.facts import Fact, UnreadableFact, read_fact
from services.scoring.metrics import BATCH_SECONDS, BATCH_SIZE, EVENTS, SCORES
from services.scoring.scorer import Changed, Outcome, score_changed
from services.scoring.state import apply_event, decode_state, encode_state

log = logging.getLogger(__name__)
# publish(topic, records) -> futures that resolve once the broker has the records (acks=all)
Publish = Callable[[str, Sequence[Outgoing]], Awaitable[Sequence[Awaitable[Any]]]]


@dataclass
class Message:
    """One consumed canonical message: where it came from and its bytes."""

    partition: int
    value: bytes


@dataclass
class Applied:
    """The households a batch changed, and the partition each one's events (hence its state) belong to."""

    changed: list[Changed] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)
    unreadable: list[tuple[bytes, str]] = field(default_factory=list)


def apply_batch(messages: Sequence[Message], stored: Callable[[str], bytes | None]) -> Applied:
    """Apply every readable event to its household's state, in order; households read once each."""
    applied, by_household = Applied(), dict[str, list[Fact]]()
    for message in messages:
        try:
            fact = read_fact(message.value)
        except UnreadableFact as exc:
            applied.unreadable.append((message.value, str(exc)))
            continue
        household = fact.household_id
        if household is None:
            applied.unreadable.append((message.value, "a canonical event must name its household"))
            continue
        by_household.setdefault(household, []).append(fact)
        applied.partitions[household] = message.partition
    for household, events in by_household.items():
        state = before = decode_state(stored(household))
        latest: Fact | None = None
        for fact in events:
            after = apply_event(state, fact)
            if after is not state:
                state, latest = after, fact
        if latest is not None and state is not before:
            applied.changed.append(Changed(household, state, latest))
    return applied


def _dead_letter(raw: bytes, reason: str) -> bytes:
    errors = [{"field": "(message)", "reason": reason[:500]}]
    return json.dumps({"origin": "scoring", "errors": errors, "message": raw.decode("utf-8", "replace")}).encode()


class BatchScorer:
    """Scores batches of canonical events; effects in the order that survives a crash at any point.

    Scores (and dead letters, shadow scores) are sent and acknowledged before the households' new states are
    written to the table's changelog: a crash in between re-applies the events to the old state and sends the
    same score ids again (alerts ignores a repeated score id); a crash after both leaves redelivered events as
    no-ops. The in-memory table changes last, so a failed batch leaves it as the changelog has it.
    """

    def __init__(
        self,
        publish: Publish,
        table: MutableMapping[str, bytes],
        changelog_topic: str,
        policies: PolicyBook,
        models: ActiveModel,
        remember_partition: Callable[[str, int], None] = lambda key, partition: None,
        remember_written: Callable[[int, int], None] = lambda partition, offset: None,
    ):
        self._publish = publish
        self._table = table
        self._changelog = changelog_topic
        self._policies = policies
        self._models = models
        self._remember_partition = remember_partition
        self._remember_written = remember_written  # (partition, offset): the table holds its records up to there

    def stored(self, household: str) -> bytes | None:
        """The household's state as the table holds it (None: a new household)."""
        return self._table.get(household)

    async def score(self, messages: Sequence[Message]) -> list[Outcome]:
        """Apply, assess and persist one batch; returns what was scored (for tests and metrics)."""
        started = time.perf_counter()
        BATCH_SIZE.observe(len(messages))
        applied = apply_batch(messages, self.stored)
        outcomes = score_changed(
            applied.changed, self._policies, datetime.now(UTC), self._models.current, self._models.shadow
        )
        for _ in applied.unreadable:
            log.error("canonical message does not parse; moved to the dead-letter topic")
        scores: list[Outgoing] = [(o.household_id.encode(), encoded(o.score), [], None) for o in outcomes if o.score]
        shadows: list[Outgoing] = [(o.household_id.encode(), encoded(o.shadow), [], None) for o in outcomes if o.shadow]
        first = [
            *await self._publish(topics.DEADLETTER, [(None, _dead_letter(*u), [], None) for u in applied.unreadable]),
            *await self._publish(topics.SCORES, scores),
            *await self._publish(topics.SHADOW_SCORES, shadows),
        ]
        states = [(o.household_id, encode_state(o.state), applied.partitions[o.household_id]) for o in outcomes]
        await asyncio.gather(*first)  # the states were encoded while the scores travelled
        failpoints.reached("scoring.scores_sent")  # scores durable, states not yet written
        written = await asyncio.gather(
            *await self._publish(self._changelog, [(_table_key(h), v, [], p) for h, v, p in states])
        )
        for household, value, partition in states:
            self._table[household] = value
            self._remember_partition(household, partition)
        for batch in written:  # a batch's first offset: its later records are read again by a recovery, harmlessly
            self._remember_written(batch.partition, batch.offset)
        failpoints.reached("scoring.states_written")  # both durable, the events not yet acknowledged
        EVENTS.labels("unreadable").inc(len(applied.unreadable))
        EVENTS.labels("scored").inc(len(messages) - len(applied.unreadable))
        SCORES.inc(sum(outcome.score is not None for outcome in outcomes))
        BATCH_SECONDS.observe(time.perf_counter() - started)
        return outcomes


def _table_key(household: str) -> bytes:
    """The changelog key of a household as faust's table (key_type=str, JSON) writes and recovers it."""
    return json.dumps(household).encode()
