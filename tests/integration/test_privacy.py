"""Resident ID numbers never reach Kafka or Redis in clear."""

import time

import httpx
import pytest
import redis

from tests.clients import all_topics, login, post_event, read_topic, wait_for_alert
from tests.factories import registration, resident_id
from tests.infra import LOGS

pytestmark = pytest.mark.integration


def test_a_raw_resident_id_appears_in_no_kafka_topic_and_no_redis_key_or_value(stack):
    head, member = resident_id("53232819750304123"), resident_id("53232820050607456")
    event = registration("HPRIV1", 9600, members=2, head_id=head, member_ids=[head, member])
    assert post_event(stack, event).status_code == 202
    wait_for_alert(stack, "HPRIV1", login(stack))
    time.sleep(1)  # let the faust changelog flush

    topics = all_topics(stack.bootstrap)
    assert "events.canonical" in topics and any(t.endswith("-changelog") for t in topics)
    seen_pseudonym = False
    for topic in topics:
        for message in read_topic(stack.bootstrap, topic, idle_ms=800):
            blob = (message.key or b"") + (message.value or b"") + b"".join(v for _, v in message.headers or [])
            assert head.encode() not in blob and member.encode() not in blob, f"raw resident ID in topic {topic}"
            seen_pseudonym = seen_pseudonym or (b"HPRIV1" in blob and b"psn_" in blob)
    assert seen_pseudonym, "the canonical event should carry the pseudonyms instead"

    client = redis.Redis.from_url(stack.redis_url)
    for key in client.scan_iter(count=1000):
        assert head.encode() not in key and member.encode() not in key
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = list(client.hgetall(key).values())
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        else:
            values = [repr(client.xrange(key)).encode()]
        for value in values:
            assert head.encode() not in value and member.encode() not in value, f"raw resident ID in Redis {key!r}"


def test_no_resident_id_password_or_token_reaches_a_log_line(stack):
    person = resident_id("53232819810808118")
    post_event(stack, registration("HPRIV2", 9600, members=2, head_id=person))
    post_event(stack, registration("HPRIV3", 9600, members=1, head_id=person[:-1] + "0"))  # invalid: logged as 422
    headers = login(stack)
    wait_for_alert(stack, "HPRIV2", headers)
    token = headers["authorization"].split()[1]
    httpx.get(f"{stack.api_url}/alerts", params={"access_token": token}, headers=headers)
    time.sleep(1)
    for process in stack.processes.values():
        process.log.flush()
    logs = "".join(path.read_text(encoding="utf-8", errors="replace") for path in LOGS.glob("*.log"))
    assert person not in logs and person[:-1] + "0" not in logs
    assert stack.admin_password not in logs
    assert token not in logs
