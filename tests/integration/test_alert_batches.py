"""The score consumer and the projector work a consumed batch at a time, on real Kafka and Redis, in this process.

A batch ends exactly where the same scores one at a time end; a score or change that can never apply is set aside
on the dead-letter topic with its reason, and the batch goes on.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from services.alerts.changes import ChangeLog
from services.alerts.consumer import ScoreConsumer
from services.alerts.deadletters import DeadLetters
from services.alerts.positions import Positions
from services.alerts.projector import Projector
from services.alerts.store import AlertStore, household_key
from services.common.kafka_auth import client_options
from services.common.policy import PolicyBook
from services.common.redis_connections import redis_client
from services.common.scores import Score
from services.common.settings import REPO_ROOT
from tests.clients import read_topic
from tests.workflow_stack import score

pytestmark = pytest.mark.integration
POLICIES = PolicyBook.load(REPO_ROOT / "policy")


def new_topics(bootstrap: str, *names: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    admin.create_topics([NewTopic(name, 6, 1) for name in names])
    admin.close()


def record(value: bytes, offset: int, topic: str = "scores.test") -> ConsumerRecord:
    """A consumed message as aiokafka hands it to the consumer."""
    return ConsumerRecord(topic, 0, offset, 0, 0, b"key", value, None, 3, len(value), ())


@dataclass
class Alerts:
    """The consumer and store of one in-process alerts pipeline, and its dead-letter topic."""

    consumer: ScoreConsumer
    store: AlertStore
    redis: Any
    dead_letters: str


@asynccontextmanager
async def pipeline(bootstrap: str, redis_url: str, db: int) -> AsyncIterator[Alerts]:
    """A change topic, a projector running on it, and a score consumer, on Redis database `db` (flushed)."""
    suffix = uuid.uuid4().hex[:8]
    changes_topic, dead = f"changes.batch.{suffix}", f"dead.batch.{suffix}"
    new_topics(bootstrap, changes_topic, dead)
    redis = redis_client(f"{redis_url.rsplit('/', 1)[0]}/{db}", decode_responses=True)
    await redis.flushdb()
    changes = ChangeLog(bootstrap, changes_topic, redis, wait_seconds=30)
    await changes.start()
    store = AlertStore(redis)
    letters = DeadLetters(changes.producer, "projector", dead)
    projector = Projector(bootstrap, changes_topic, f"p-{suffix}", store, letters, Positions(redis, f"p-{suffix}"))
    projecting = asyncio.create_task(projector.run())
    letters = DeadLetters(changes.producer, "scores", dead)
    consumer = ScoreConsumer(
        bootstrap, f"s-{suffix}", store, changes, POLICIES, letters, Positions(redis, f"s-{suffix}")
    )
    try:
        yield Alerts(consumer, store, redis, dead)
    finally:
        projecting.cancel()
        await asyncio.gather(projecting, return_exceptions=True)
        await changes.stop()
        await redis.flushdb()
        await redis.aclose()


def pushes(seed: int) -> list[Score]:
    """Scores of 40 households, 1-6 each, mixed levels and reasons, some redelivered later in the batch."""
    rng = random.Random(seed)
    made: list[Score] = []
    for n in range(40):
        for _ in range(rng.randint(1, 6)):
            level = rng.choice(["green", "green", "yellow", "red"])
            codes = (rng.choice(["income_below_threshold", "medical_burden", "income_drop"]),)
            made.append(score(f"HBT{n:02d}", level, codes=codes))  # type: ignore[arg-type]
    rng.shuffle(made)  # households interleave; sorted back per household below keeps each one's order
    order = {id(s): i for i, s in enumerate(made)}
    made.sort(key=lambda s: (order[id(s)] % 7, s.household_id))
    return made + rng.sample(made, 15)


async def outcome(alerts: Alerts, households: list[str]) -> dict[str, Any]:
    """What the API would show of each household: its alert (less ids and times) and its figures and timeline."""
    shown: dict[str, Any] = {}
    for household in households:
        alert = await alerts.store.latest_for_household(household)
        figures = await alerts.store.household(household)
        shown[household] = (
            None
            if alert is None
            else (alert.level, alert.status, alert.version, [r.code for r in alert.reasons], alert.score_ids,
                  [(h.change, h.level, h.score_id) for h in alert.history], alert.reopened_from is not None),
            None if figures is None else (figures["last_score_id"], [e["score_id"] for e in figures["timeline"]]),
        )  # fmt: skip
    return shown


def test_a_batch_of_scores_gives_the_same_alerts_and_figures_as_the_same_scores_one_at_a_time(
    kafka_bootstrap, redis_url
):
    scores = pushes(seed=11)
    records = [record(s.to_json(), n) for n, s in enumerate(scores)]
    households = sorted({s.household_id for s in scores})

    async def run(db: int, batch_size: int) -> dict[str, Any]:
        async with pipeline(kafka_bootstrap, redis_url, db) as alerts:
            for first in range(0, len(records), batch_size):
                await alerts.consumer.handle_batch(records[first : first + batch_size])
            return await outcome(alerts, households)

    one_by_one = asyncio.run(run(10, 1))
    batched = asyncio.run(run(11, 500))
    assert sum(shown is not None for shown, _ in one_by_one.values()) >= 20
    assert batched == one_by_one


def test_an_unreadable_score_is_set_aside_with_its_reason_and_the_rest_of_the_batch_applies(kafka_bootstrap, redis_url):
    async def run() -> None:
        async with pipeline(kafka_bootstrap, redis_url, 12) as alerts:
            batch = [record(b"{not a score", 0), record(score("HBU1").to_json(), 1)]
            await alerts.consumer.handle_batch(batch)
            assert (await alerts.store.latest_for_household("HBU1")) is not None
            letters = read_topic(kafka_bootstrap, alerts.dead_letters)
            assert [(m.value, dict(m.headers)["reason"], dict(m.headers)["consumer"]) for m in letters] == [
                (b"{not a score", b"unreadable", b"scores")
            ]

    asyncio.run(run())


def test_a_household_whose_changes_can_never_apply_is_set_aside_as_stale_and_the_others_go_on(
    kafka_bootstrap, redis_url
):
    async def run() -> None:
        async with pipeline(kafka_bootstrap, redis_url, 13) as alerts:
            await alerts.consumer.handle_batch([record(score("HBS1").to_json(), 0)])
            alert = await alerts.store.latest_for_household("HBS1")
            assert alert is not None
            await alerts.redis.hset(f"alerts:alert:{alert.id}", "version", 99)  # no change from its JSON can apply
            later, other = score("HBS1", "yellow", codes=("medical_burden",)), score("HBS2")
            batch = [record(later.to_json(), 1), record(other.to_json(), 2)]
            await asyncio.wait_for(alerts.consumer.handle_batch(batch), 120)
            assert await alerts.store.latest_for_household("HBS2") is not None
            [letter] = read_topic(kafka_bootstrap, alerts.dead_letters)
            assert letter.value == later.to_json() and dict(letter.headers)["reason"] == b"stale"
            timeline = await alerts.redis.lrange(household_key("HBS1", "timeline"), 0, -1)
            assert len(timeline) == 2  # its figures are still kept

    asyncio.run(run())
