"""The batch scorer behind the faust agent, with an in-memory table and a recording producer (no broker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from services.common import topics
from services.common.kafka import Outgoing
from services.common.policy import PolicyBook
from services.common.scores import Score
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.activations import ActiveModel
from services.scoring.batch import BatchScorer, Message
from services.scoring.model import ModelRegistry
from services.scoring.state import decode_state
from tests.factories import income, registration

POLICIES = PolicyBook.load(REPO_ROOT / "policy")
CHANGELOG = "scoring-households-changelog"


@dataclass
class Written:
    """What the broker acknowledges for a batch: its partition and its first record's offset (aiokafka's metadata)."""

    partition: int
    offset: int


class Producer:
    """Records what is sent; can be told to fail every send to one topic (a broker that is away)."""

    def __init__(self, failing: str | None = None):
        self.sent: list[tuple[str, bytes | None, bytes, int | None]] = []
        self.failing = failing
        self.offsets: dict[tuple[str, int], int] = {}  # the next offset of each (topic, partition)

    async def publish(self, topic: str, records: Sequence[Outgoing]) -> list[Awaitable[Any]]:
        if topic == self.failing:
            raise ConnectionError(f"{topic} unreachable")
        self.sent.extend((topic, key, value, partition) for key, value, _, partition in records)
        acks: list[Awaitable[Any]] = []
        for partition in dict.fromkeys(partition or 0 for _, _, _, partition in records):  # a batch per partition
            done: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
            first = self.offsets.get((topic, partition), 0)
            done.set_result(Written(partition, first))
            acks.append(done)
            self.offsets[(topic, partition)] = first + sum((p or 0) == partition for *_, p in records)
        return acks

    def scores(self) -> list[Score]:
        return [Score.from_json(value) for topic, _, value, _ in self.sent if topic == topics.SCORES]


def scorer(producer: Producer, table: dict[str, bytes], tmp_path) -> BatchScorer:
    return BatchScorer(producer.publish, table, CHANGELOG, POLICIES, ActiveModel(ModelRegistry(tmp_path)))


def messages(*raws: dict[str, Any], partition: int = 3) -> list[Message]:
    return [Message(partition, validate_event(raw, b"k").to_json()) for raw in raws]


def test_a_batch_keeps_each_household_s_state_in_the_table_and_scores_it_once(tmp_path):
    producer, table = Producer(), {}
    batch = messages(registration("HT1", 9600, members=4), income("HT1", "2025-03", 300), registration("HT2", 90000))
    asyncio.run(scorer(producer, table, tmp_path).score(batch))
    state = decode_state(table["HT1"])
    assert state.profile.members == 4 and "2025-03|wage" in state.incomes
    sent = {score.household_id: score for score in producer.scores()}
    assert [s.household_id for s in producer.scores()] == ["HT1", "HT2"]
    assert sent["HT1"].level == "red" and sent["HT1"].figures.income_12m == 9600 - 800 + 300
    assert len(sent["HT1"].caused_by) == 2 and sent["HT2"].level == "green"


def test_each_household_s_state_goes_to_the_changelog_partition_of_its_events_under_faust_s_key(tmp_path):
    producer, table = Producer(), {}
    asyncio.run(scorer(producer, table, tmp_path).score(messages(registration("HT3", 9600), partition=5)))
    ((key, value, partition),) = [(k, v, p) for topic, k, v, p in producer.sent if topic == CHANGELOG]
    assert json.loads(key) == "HT3" and partition == 5 and value == table["HT3"]


def test_the_scorer_tells_from_which_offset_of_each_changelog_partition_its_own_writes_are_held(tmp_path):
    producer, table, written = Producer(), {}, []
    first = BatchScorer(
        producer.publish, table, CHANGELOG, POLICIES, ActiveModel(ModelRegistry(tmp_path)),
        remember_written=lambda partition, offset: written.append((partition, offset)),
    )  # fmt: skip
    batch = [*messages(registration("HT5", 9600), partition=2), *messages(registration("HT6", 9600), partition=4)]
    asyncio.run(first.score(batch))
    asyncio.run(first.score(messages(registration("HT7", 9600), partition=2)))
    assert written == [(2, 0), (4, 0), (2, 1)]


def test_scores_are_sent_before_the_states_that_include_their_events(tmp_path):
    producer, table = Producer(), {}
    asyncio.run(scorer(producer, table, tmp_path).score(messages(registration("HT4", 9600))))
    assert [topic for topic, *_ in producer.sent] == [topics.SCORES, CHANGELOG]


def test_a_batch_whose_states_cannot_be_written_leaves_the_table_alone_and_scores_the_same_again(tmp_path):
    table: dict[str, bytes] = {}
    batch = messages(registration("HT5", 9600), income("HT5", "2025-03", 300))
    failing = Producer(failing=CHANGELOG)
    with pytest.raises(ConnectionError):
        asyncio.run(scorer(failing, table, tmp_path).score(batch))
    assert table == {} and len(failing.scores()) == 1
    retried = Producer()
    asyncio.run(scorer(retried, table, tmp_path).score(batch))
    assert [s.score_id for s in retried.scores()] == [s.score_id for s in failing.scores()]
    assert "HT5" in table


def test_a_redelivered_batch_changes_nothing_and_sends_no_score(tmp_path):
    producer, table = Producer(), {}
    batch = messages(registration("HT6", 9600), income("HT6", "2025-03", 300))
    asyncio.run(scorer(producer, table, tmp_path).score(batch))
    stored, again = dict(table), Producer()
    asyncio.run(scorer(again, table, tmp_path).score(batch))
    assert table == stored and again.sent == []


def test_a_message_that_does_not_parse_is_dead_lettered_with_the_reason_and_the_rest_is_scored(tmp_path):
    producer, table = Producer(), {}
    batch = [Message(0, b"{not json"), *messages(registration("HT7", 9600))]
    asyncio.run(scorer(producer, table, tmp_path).score(batch))
    dead = [json.loads(value) for topic, _, value, _ in producer.sent if topic == topics.DEADLETTER]
    assert dead[0]["origin"] == "scoring" and dead[0]["message"] == "{not json"
    assert [s.household_id for s in producer.scores()] == ["HT7"]


def test_a_correction_and_an_out_of_order_month_land_in_the_right_place_within_one_batch(tmp_path):
    producer, table = Producer(), {}
    batch = messages(
        registration("HT8", 0, members=1),
        income("HT8", "2025-05", 700, time="2025-05-30T00:00:00Z"),
        income("HT8", "2025-03", 300, time="2025-06-02T00:00:00Z"),  # a late March report
        income("HT8", "2025-05", 500, time="2025-06-05T00:00:00Z"),  # corrects May
    )
    asyncio.run(scorer(producer, table, tmp_path).score(batch))
    incomes = decode_state(table["HT8"]).incomes
    assert {key: value.amount for key, value in incomes.items()} == {"2025-05|wage": 500, "2025-03|wage": 300}
    (score,) = producer.scores()
    assert score.figures.income_12m == 800 and score.figures.months_reported == 2
