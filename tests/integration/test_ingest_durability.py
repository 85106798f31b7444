"""Ingest loses no accepted event and keeps its indexes, whatever fails around it (real broker and Redis)."""

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from datetime import date, timedelta

import httpx
import pytest
import redis
from aiokafka.errors import KafkaConnectionError
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from services.common import topics
from services.common.kafka_auth import client_options
from services.common.redis_connections import redis_client
from services.ingest.canonical import CanonicalEvent
from services.ingest.dedup import SeenEvents, seen_key
from services.ingest.household_regions import HouseholdRegions
from services.ingest.inbound import InboundRoute
from services.ingest.intake import Intake
from services.ingest.persons import PersonIndex
from services.ingest.publisher import EventPublisher
from services.ingest.screening import EventWindow
from tests import infra
from tests.clients import post_batch, post_event, read_topic
from tests.factories import cloud_event, income, registration, resident_id

pytestmark = pytest.mark.integration
WINDOW = EventWindow(date(2015, 1, 1), 1, timedelta(minutes=15))


def canonical_ids(bootstrap: str) -> list[str]:
    """Ids on the canonical topic (a consumer whose metadata is not in yet sees none, the caller asks again)."""
    try:
        messages = read_topic(bootstrap, "events.canonical", idle_ms=800)
    except ValueError:  # kafka-python: no partitions assigned before its first metadata answer
        return []
    return [json.loads(message.value)["id"] for message in messages]


@pytest.fixture
def topics_made(kafka_bootstrap: str) -> str:
    """The broker with the system's topics (tests here run ingest's parts in-process, without the stack)."""
    topics.ensure_topics(kafka_bootstrap, 6)
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, **client_options())
    try:
        infra.wait_until(lambda: bool(consumer.partitions_for_topic(topics.CANONICAL)), 30, "the canonical topic")
    finally:
        consumer.close()
    return kafka_bootstrap


def intake_on(publisher: EventPublisher, redis_url: str) -> Intake:
    client = redis_client(redis_url, hiredis_packing=True)
    people, regions = PersonIndex(client), HouseholdRegions(client)
    return Intake(publisher, SeenEvents(client, 1, 30), people, regions, b"test-key", WINDOW, 32)


class Failures(logging.Handler):
    """Counts the inbound route's reports of a failed batch."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.getMessage().startswith("inbound paused, retrying from the last commit")


def test_an_inbound_batch_that_fails_before_its_partition_has_a_commit_is_read_again(topics_made, tmp_path):
    kafka_bootstrap = topics_made
    topic, event = f"inbound.rewind.{uuid.uuid4().hex[:8]}", income("HDUR1", "2025-03", 100)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, **client_options())
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, **client_options())
    producer.send(topic, json.dumps(event).encode())
    producer.flush()
    late_redis = infra.redis_server(tmp_path / "redis")  # not started yet: the first batch fails on it

    async def scenario() -> None:
        publisher = EventPublisher(kafka_bootstrap)
        await publisher.start()
        route = InboundRoute(
            kafka_bootstrap, intake_on(publisher, late_redis.address), publisher, 32, topic, f"g-{uuid.uuid4().hex}"
        )
        running = asyncio.create_task(route.run())
        try:
            while not failures.count:
                await asyncio.sleep(0.2)
            await asyncio.to_thread(late_redis.start)
            while event["id"] not in await asyncio.to_thread(canonical_ids, kafka_bootstrap):
                await asyncio.sleep(0.5)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await publisher.stop()

    failures, logger = Failures(), logging.getLogger("services.common.kafka")
    logger.addHandler(failures)
    try:
        asyncio.run(asyncio.wait_for(scenario(), 120))
    finally:
        logger.removeHandler(failures)
        late_redis.stop()
    assert canonical_ids(kafka_bootstrap).count(event["id"]) == 1


class BrokerAwayOnce(EventPublisher):
    """The real publisher, except that its first publish fails after a moment, as when the broker goes away."""

    def __init__(self, bootstrap_servers: str):
        super().__init__(bootstrap_servers)
        self.failed = False

    async def publish(self, events: list[CanonicalEvent]) -> None:  # type: ignore[override]
        if not self.failed:
            self.failed = True
            await asyncio.sleep(0.3)
            raise KafkaConnectionError("broker away")
        await super().publish(events)


def test_twins_of_an_event_whose_publish_failed_are_published_once_and_none_is_lost(topics_made, redis_url):
    kafka_bootstrap = topics_made
    event = income("HDUR2", "2025-03", 100)

    async def scenario() -> list[object]:
        publisher = BrokerAwayOnce(kafka_bootstrap)
        await publisher.start()
        intake = intake_on(publisher, redis_url)
        try:
            offers = [intake.offer([dict(event)], "http") for _ in range(20)]
            return await asyncio.gather(*offers, return_exceptions=True)
        finally:
            await publisher.stop()

    results = asyncio.run(scenario())
    failed = [result for result in results if isinstance(result, Exception)]
    statuses = sorted(outcomes[0].status for outcomes in results if isinstance(outcomes, list))
    assert len(failed) == 1 and isinstance(failed[0], KafkaConnectionError)
    assert statuses == ["accepted"] + ["duplicate"] * 18
    assert canonical_ids(kafka_bootstrap).count(event["id"]) == 1


def test_after_an_alerts_rebuild_person_records_still_find_their_household_and_dropped_members_do_not(stack):
    stays, leaves = resident_id("53232819610606446"), resident_id("53232819620606337")
    first = registration("HDUR3", 60000, members=2, member_ids=[stays, leaves], time="2025-01-01T00:00:00Z")
    assert post_event(stack, first).status_code == 202
    stack.rebuild_alerts()

    fewer = registration("HDUR3", 60000, members=1, member_ids=[stays], time="2025-02-01T00:00:00Z")
    assert post_event(stack, fewer).status_code == 202

    def bill(person: str) -> dict:
        data = {"member_id": person, "date": "2025-03-05", "total_cost": 20, "out_of_pocket": 10}
        return cloud_event("medical.expense.incurred", data, source="/medical-insurance/5323")

    matched, dropped = bill(stays), bill(leaves)
    assert "note" not in post_event(stack, matched).json()
    assert "no registered household" in post_event(stack, dropped).json()["note"]
    deadline = time.monotonic() + 30
    while True:
        found = {
            json.loads(m.value)["id"]: json.loads(m.value) for m in read_topic(stack.bootstrap, "events.canonical")
        }
        if matched["id"] in found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found[matched["id"]]["data"]["household_id"] == "HDUR3"


def test_the_person_index_kept_under_the_old_keys_is_moved_under_the_ingest_prefix_at_start(redis_url):
    person = "psn_" + uuid.uuid4().hex + "abcdefgh"
    client = redis.Redis.from_url(redis_url)
    client.delete("ingest:keys-migrated")
    client.set(f"person:{person}", "HDUR4")
    client.sadd("household:HDUR4:people", person)

    async def scenario() -> list[str | None]:
        from services.ingest.persons import migrate_legacy_keys

        fresh = redis_client(redis_url)
        try:
            await migrate_legacy_keys(fresh)
            return await PersonIndex(fresh).households_of([person])
        finally:
            await fresh.aclose()

    assert asyncio.run(scenario()) == ["HDUR4"]
    assert client.smembers("ingest:household:HDUR4:people") == {person.encode()}
    assert not client.exists(f"person:{person}", "household:HDUR4:people")


def test_an_ingest_killed_while_batches_are_in_flight_loses_none_of_them_when_they_are_sent_again(stack):
    stack.processes["ingest"].stop()
    stack.start("ingest", DEDUP_CLAIM_SECONDS="5")  # claims of the killed process expire soon after
    batches = [[income(f"HDUR5-{b}-{n}", "2025-03", 100 + n) for n in range(1000)] for b in range(4)]
    senders = [threading.Thread(target=post_batch_quietly, args=(stack, batch)) for batch in batches]
    claims = [seen_key(event["source"], event["id"]) for batch in batches for event in batch]
    watcher = redis.Redis.from_url(stack.redis_url)
    for sender in senders:
        sender.start()
    while not any(watcher.mget(claims)):  # the first events are claimed: kill ingest in the middle of it all
        time.sleep(0.005)
    stack.processes["ingest"].kill()
    for sender in senders:
        sender.join()
    stack.start("ingest", DEDUP_CLAIM_SECONDS="5")
    for batch in batches:
        outcomes = post_batch(stack, batch).json()
        assert outcomes["rejected"] == 0 and outcomes["accepted"] + outcomes["duplicate"] == len(batch)
    published = set(canonical_ids(stack.bootstrap))
    assert {event["id"] for batch in batches for event in batch} <= published


def post_batch_quietly(stack, batch: list[dict]) -> None:
    """Send a batch whose answer may never come (ingest is killed meanwhile)."""
    with contextlib.suppress(httpx.HTTPError):
        post_batch(stack, batch)
