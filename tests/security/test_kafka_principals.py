"""Kafka authenticates every client and authorises it by the ACL table (services/common/kafka_acls.py), on the real
broker of the test session: an upstream system writes `events.inbound` only; each service principal is refused
outside its grants, with an authorisation error and nothing written; no credentials, no connection; rotating one
service's password needs a restart of that service alone."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator

import aiokafka.errors
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAuthorizationFailedError,
)
from pydantic import SecretStr

from services.common import kafka_acls, topics
from services.common.kafka_auth import KafkaCredentials, client_options
from services.common.kafka_provision import admin_client, grant, reconcile, set_passwords
from tests import infra
from tests.clients import login, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration
TOPICS = [spec.name for spec in topics.topic_specs(1)]
NOT_CONNECTED = (
    SaslAuthenticationFailedError,
    KafkaTimeoutError,
    KafkaConnectionError,
)  # kafka-python: "Unable to bootstrap"
QUICK = {"bootstrap_timeout_ms": 5000, "request_timeout_ms": 10000}
QUICK_PRODUCER = {**QUICK, "max_block_ms": 10000}


def as_principal(name: str, password: str | None = None) -> dict[str, object]:
    """Client options of `name` with its password of this session (or `password`)."""
    secret = password or infra.KAFKA_PASSWORDS[name]
    return client_options(KafkaCredentials(kafka_username=name, kafka_password=SecretStr(secret)))


def ends(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of every partition of `topic`, read as admin."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **client_options())
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def refused_reading(bootstrap: str, principal: str, topic: str) -> bool:
    """Whether an aiokafka consumer (the services' client) of `principal` reading `topic` is refused with
    TopicAuthorizationFailed, whether or not the principal may see the topic at all."""

    async def attempt() -> bool:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, **as_principal(principal))
        try:
            await consumer.start()
            await consumer.getmany(timeout_ms=2000)
            return False
        except aiokafka.errors.TopicAuthorizationFailedError:
            return True
        finally:
            await consumer.stop()

    for _ in range(5):  # a connection the broker drops mid-handshake: try again
        try:
            return asyncio.run(attempt())
        except aiokafka.errors.KafkaConnectionError:
            time.sleep(1)
    return False


@pytest.fixture
def upstream(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    """A producer authenticated as the upstream department principal."""
    producer = KafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", **as_principal("upstream"), **QUICK_PRODUCER
    )
    yield producer
    producer.close()


def test_an_upstream_principal_writes_events_inbound(kafka_bootstrap, upstream):
    before = sum(ends(kafka_bootstrap, topics.INBOUND).values())
    upstream.send(topics.INBOUND, b"{}", key=b"HUP1").get(30)
    assert sum(ends(kafka_bootstrap, topics.INBOUND).values()) == before + 1


@pytest.mark.parametrize("topic", [name for name in TOPICS if name != topics.INBOUND])
def test_an_upstream_principal_is_refused_on_every_other_topic_and_nothing_is_written(kafka_bootstrap, upstream, topic):
    before = ends(kafka_bootstrap, topic)
    with pytest.raises(TopicAuthorizationFailedError):
        upstream.send(topic, b'{"forged": true}', key=b"HUP2").get(30)
    assert ends(kafka_bootstrap, topic) == before


def test_an_upstream_principal_may_not_read_even_the_topic_it_writes(kafka_bootstrap):
    assert refused_reading(kafka_bootstrap, "upstream", topics.INBOUND)


@pytest.mark.parametrize("principal", kafka_acls.SERVICES)
def test_each_service_principal_is_refused_writing_every_topic_outside_its_grants(kafka_bootstrap, principal):
    refused = [topic for topic in TOPICS if not kafka_acls.may(principal, "Write", topic)]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", **as_principal(principal), **QUICK_PRODUCER)
    try:
        for topic in refused:
            before = ends(kafka_bootstrap, topic)
            # a principal that may write no topic at all is refused its producer id (ClusterAuthorizationFailed)
            with pytest.raises(KafkaError, match="(Topic|Cluster)AuthorizationFailed"):
                producer.send(topic, b'{"forged": true}', key=b"HFORGED").get(30)
            assert ends(kafka_bootstrap, topic) == before, topic
    finally:
        producer.close()


@pytest.mark.parametrize("principal", kafka_acls.SERVICES)
def test_each_service_principal_is_refused_reading_every_topic_outside_its_grants(kafka_bootstrap, principal):
    refused = [topic for topic in TOPICS if not kafka_acls.may(principal, "Read", topic)]
    assert [topic for topic in refused if not refused_reading(kafka_bootstrap, principal, topic)] == []


def test_provisioning_again_takes_back_an_acl_the_table_does_not_hold(kafka_bootstrap):
    admin = admin_client(kafka_bootstrap)
    try:
        grant(admin, kafka_acls.UPSTREAM, [kafka_acls.Grant("topic", topics.SCORES, ("Read",))])
        assert not refused_reading(kafka_bootstrap, kafka_acls.UPSTREAM, topics.SCORES)  # the stray grant works
        taken = reconcile(admin, kafka_acls.UPSTREAM, kafka_acls.upstream_grants())
    finally:
        admin.close()
    assert [(acl.resource_pattern.resource_name, acl.operation.name) for acl in taken] == [(topics.SCORES, "READ")]
    assert refused_reading(kafka_bootstrap, kafka_acls.UPSTREAM, topics.SCORES)


def test_a_service_principal_may_not_join_another_services_consumer_group(kafka_bootstrap):
    consumer = KafkaConsumer(
        topics.SCORES, bootstrap_servers=kafka_bootstrap, group_id="shouwang-alerts", **as_principal("scoring"), **QUICK
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            consumer.poll(timeout_ms=10000)
    finally:
        consumer.close()


def test_a_client_without_credentials_cannot_connect(kafka_bootstrap):
    with pytest.raises(NOT_CONNECTED):
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, security_protocol="PLAINTEXT", **QUICK_PRODUCER)
        producer.send(topics.INBOUND, b"{}").get(10)


def test_a_client_with_a_wrong_password_cannot_connect(kafka_bootstrap):
    with pytest.raises(NOT_CONNECTED):
        producer = KafkaProducer(
            bootstrap_servers=kafka_bootstrap, **as_principal("upstream", secrets.token_hex(16)), **QUICK_PRODUCER
        )
        producer.send(topics.INBOUND, b"{}").get(10)


def test_an_aiokafka_client_without_credentials_cannot_start(kafka_bootstrap):
    async def start() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, request_timeout_ms=5000)
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(aiokafka.errors.KafkaError):
        asyncio.run(start())


def test_rotating_a_services_password_needs_only_a_restart_of_that_service(stack):
    others = {name: stack.processes[name].popen.pid for name in ("ingest", "scoring", "api")}
    old, new = infra.KAFKA_PASSWORDS["alerts"], secrets.token_hex(16)
    admin = admin_client(stack.bootstrap)
    try:
        set_passwords(admin, {"alerts": new})
    finally:
        admin.close()
    infra.KAFKA_PASSWORDS["alerts"] = new  # later restarts in this session use it
    stack.processes["alerts"].stop()
    stack.start("alerts")
    event = registration("HROT1", 3000, members=4)
    assert post_event(stack, event).status_code == 202
    alert = wait_for_alert(stack, "HROT1", login(stack), seconds=90)
    assert alert["household_id"] == "HROT1"  # scored by the untouched scoring worker, raised by the restarted alerts
    assert {name: stack.processes[name].popen.pid for name in others} == others
    assert all(stack.processes[name].popen.poll() is None for name in others)
    with pytest.raises(NOT_CONNECTED):
        stale = KafkaProducer(bootstrap_servers=stack.bootstrap, **as_principal("alerts", old), **QUICK_PRODUCER)
        stale.send(topics.ALERT_CHANGES, b"{}").get(10)
