"""From outside, against `make run`: the upstream credentials it prints write `events.inbound` (and the event is
scored into an alert), the broker refuses them on the topics the services trust, and refuses a client without any."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from pydantic import SecretStr

from services.common import topics
from services.common.kafka_auth import KafkaCredentials, client_options
from tests.e2e.test_make_run import admin_headers, as_make_run_admin, said_ready, start_make_run
from tests.factories import registration
from tests.infra import LOGS, wait_until

pytestmark = pytest.mark.integration
PRINTED = re.compile(rb"user upstream, password (\S+)")
QUICK = {"bootstrap_timeout_ms": 5000, "request_timeout_ms": 10000, "max_block_ms": 10000}


def printed_upstream_password(offset: int) -> str:
    """The upstream principal's password as `make run` printed it (after `offset` bytes of its log)."""
    with (LOGS / "make-run.log").open("rb") as log:
        log.seek(offset)
        found = PRINTED.search(log.read())
    assert found, "make run printed no upstream credentials"
    return found.group(1).decode()


def written(bootstrap: str, state: Path, topic: str) -> int:
    """How many records `topic` holds, read as make run's admin."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **as_make_run_admin(state))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def test_make_runs_upstream_credentials_write_events_inbound_only_and_no_credentials_connect_nowhere(tmp_path):
    offset = (LOGS / "make-run.log").stat().st_size if (LOGS / "make-run.log").exists() else 0
    process, ports, log = start_make_run(tmp_path, DEMO="0")
    api, bootstrap, state = f"http://127.0.0.1:{ports['api']}", f"127.0.0.1:{ports['kafka']}", tmp_path / "state"
    try:
        wait_until(lambda: said_ready(process, offset), 180, "make run saying it is ready")
        upstream = KafkaCredentials(
            kafka_username="upstream", kafka_password=SecretStr(printed_upstream_password(offset))
        )
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **client_options(upstream), **QUICK)
        event = registration("HUPSTREAM1", 3000, members=4)
        producer.send(topics.INBOUND, json.dumps(event).encode(), key=b"HUPSTREAM1").get(30)
        headers = admin_headers(api)
        wait_until(
            lambda: (
                httpx.get(f"{api}/alerts", params={"household_id": "HUPSTREAM1"}, headers=headers).json()["total"] == 1
            ),
            120,
            "the upstream event scored into an alert",
        )
        for topic in (topics.CANONICAL, topics.ALERT_CHANGES, topics.MODEL_ACTIVATIONS):
            before = written(bootstrap, state, topic)
            with pytest.raises(KafkaError, match="TopicAuthorizationFailed"):
                producer.send(topic, b'{"forged": true}', key=b"HUPSTREAM1").get(30)
            assert written(bootstrap, state, topic) == before
        producer.close()
        with pytest.raises((KafkaTimeoutError, KafkaConnectionError)):
            anonymous = KafkaProducer(bootstrap_servers=bootstrap, security_protocol="PLAINTEXT", **QUICK)
            anonymous.send(topics.INBOUND, json.dumps(event).encode()).get(10)
        assert (state / "secrets.env").stat().st_mode & 0o777 == 0o600
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        finally:
            log.close()
