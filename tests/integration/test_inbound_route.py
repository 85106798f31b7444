"""The Kafka route: systems with broker access produce to events.inbound."""

import json
import time

import pytest
from kafka import KafkaProducer

from services.common.kafka_auth import client_options
from tests.clients import read_topic
from tests.factories import income, registration, resident_id

pytestmark = pytest.mark.integration


def wait_for_message(bootstrap, topic, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in read_topic(bootstrap, topic, idle_ms=500) if predicate(m)]
        if found:
            return found
        time.sleep(0.5)
    raise TimeoutError(f"no matching message on {topic}")


def test_valid_inbound_events_in_binary_and_structured_mode_reach_the_canonical_topic(stack):
    binary, structured = income("HK1", "2025-03", 100), registration("HK1", 20000)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options())
    headers = [(f"ce_{k}", str(v).encode()) for k, v in binary.items() if k not in ("data", "datacontenttype")]
    producer.send("events.inbound", json.dumps(binary["data"]).encode(), headers=headers)
    producer.send("events.inbound", json.dumps(structured).encode(), key=b"HK1")
    producer.send("events.inbound", json.dumps(structured).encode(), key=b"HK1")  # a duplicate
    producer.flush()
    ids = {binary["id"], structured["id"]}
    found = wait_for_message(stack.bootstrap, "events.canonical", lambda m: json.loads(m.value)["id"] in ids)
    time.sleep(2)
    found = [m for m in read_topic(stack.bootstrap, "events.canonical") if json.loads(m.value)["id"] in ids]
    assert sorted(json.loads(m.value)["id"] for m in found) == sorted(ids)


def test_an_invalid_inbound_event_goes_to_the_dead_letter_topic_with_its_reason_and_no_resident_id(stack):
    person = resident_id("53232819900101777")
    bad = registration("HK2", 1000, members=0, head_id=person)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options())
    producer.send("events.inbound", json.dumps(bad).encode())
    producer.send("events.inbound", b"{not json")
    producer.flush()
    letters = wait_for_message(stack.bootstrap, "events.deadletter", lambda m: b"HK2" in m.value)
    letter = json.loads(letters[0].value)
    assert letter["errors"] == [{"field": "data.members", "reason": "Input should be greater than or equal to 1"}]
    assert person not in letters[0].value.decode()
    unparseable = wait_for_message(stack.bootstrap, "events.deadletter", lambda m: b"{not json" in m.value)
    assert json.loads(unparseable[0].value)["errors"][0]["field"] == "(message)"
    assert bad["id"] not in [json.loads(m.value)["id"] for m in read_topic(stack.bootstrap, "events.canonical")]
