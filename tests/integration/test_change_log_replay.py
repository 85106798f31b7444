"""Reading the change log from the beginning, as the rebuild does, yields every message of every partition."""

import asyncio
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from services.alerts.changes import read_log

pytestmark = pytest.mark.integration


def test_every_read_of_the_log_returns_all_its_messages_whatever_the_timing_of_the_partition_resets(
    kafka_bootstrap,
):
    topic = f"replay.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    sent = {f"change-{n}".encode() for n in range(60)}
    for value in sent:
        producer.send(topic, value, key=value)
    producer.flush()
    producer.close()

    async def read_all() -> list[bytes]:
        return [raw async for raw in read_log(kafka_bootstrap, topic)]

    reads = [asyncio.run(read_all()) for _ in range(15)]
    assert [len(read) for read in reads] == [len(sent)] * len(reads)
    assert all(set(read) == sent for read in reads)
