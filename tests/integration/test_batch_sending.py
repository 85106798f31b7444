"""`send_batches` against a real broker: each record lands on its own partition or its key's, in order."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from services.common.kafka import send_batches
from services.common.kafka_auth import client_options

PARTITIONS = 6


def test_records_land_on_their_given_partition_else_their_key_s_in_the_order_sent(kafka_bootstrap):
    topic = f"batch-sending-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, **client_options())
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    admin.close()
    keyed = [(f"H{n:05d}".encode(), f"keyed {n}".encode(), [], None) for n in range(300)]
    placed = [(b'"H00001"', f"placed {n}".encode(), [("h", b"1")], n % PARTITIONS) for n in range(12)]
    keyless = [(None, b"no key", [], None)]

    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap, **client_options(), acks="all", max_batch_size=16 * 1024
        )
        await producer.start()
        try:  # small batches: a partition's records span several of them
            await asyncio.gather(*await send_batches(producer, topic, [*keyed, *placed, *keyless]))
        finally:
            await producer.stop()

    asyncio.run(send())
    consumer = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap, **client_options(), auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    found = [(m.partition, m.key, m.value, m.headers) for m in consumer]
    consumer.close()
    assert len(found) == len(keyed) + len(placed) + len(keyless)
    everyone = list(range(PARTITIONS))
    for key, value, _, _ in keyed:
        assert (DefaultPartitioner()(key, everyone, everyone), key, value, []) in found
    for _, value, headers, partition in placed:
        assert (partition, b'"H00001"', value, headers) in found
    assert (0, None, b"no key", []) in found
    for partition in everyone:
        values = [value for p, _, value, _ in found if p == partition]
        assert values == sorted(values, key=[v for _, v, _, _ in [*keyed, *placed, *keyless]].index)
