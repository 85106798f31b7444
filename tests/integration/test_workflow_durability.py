"""Kafka is the system of record for alerts: a Redis restart loses nothing, a wiped Redis is rebuilt exactly."""

import time

import httpx
import pytest
import redis
from kafka import KafkaProducer

from services.common.kafka_auth import client_options
from tests.clients import create_user, login, password_of, read_topic
from tests.infra import wait_until
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
PROJECTED = ("alerts:alert:*", "alerts:by_created", "alerts:ix:*", "alerts:deadlines", "alerts:household:*")


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("durability"))
    yield running
    running.stop()


def open_cases(wf, prefix: str, count: int) -> dict[str, dict]:
    """Raise `count` alerts, take every one, send every other one to village review; return them by id."""
    admin, worker = login(wf.stack), create_user(wf.stack, f"{prefix.lower()}.worker", "township_worker", "532328101")
    households = [f"{prefix}{n}" for n in range(count)]
    wf.publish(*(score(h) for h in households))
    api = wf.stack.api_url
    for n, household in enumerate(households):
        alert = poll(f"{api}/alerts", admin, lambda b: b["items"], household_id=household)["items"][0]
        url = f"{api}/alerts/{alert['id']}/transitions"
        body = {"to": "verifying", "note": "", "expected_version": alert["version"]}
        alert = httpx.post(url, json=body, headers=worker).raise_for_status().json()
        if n % 2:
            visit = {"visited_at": "2025-01-16T09:00:00+08:00", "consent": True}
            body = {"to": "reviewing", "note": "seen", "expected_version": alert["version"], **visit}
            httpx.post(url, json=body, headers=worker).raise_for_status()
    return every_alert(wf, admin)


def every_alert(wf, headers: dict[str, str]) -> dict[str, dict]:
    page = httpx.get(f"{wf.stack.api_url}/alerts", params={"limit": 500}, headers=headers).json()
    return {alert["id"]: alert for alert in page["items"]}


def projection(url: str) -> dict[str, object]:
    """Every alert and household key in Redis with its value, whatever its type."""
    client = redis.Redis.from_url(url, decode_responses=True)
    read = {
        "string": client.get,
        "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
        "list": lambda k: client.lrange(k, 0, -1),
        "set": lambda k: sorted(client.smembers(k)),
        "hash": client.hgetall,
    }
    keys = {key for pattern in PROJECTED for key in client.scan_iter(match=pattern, count=1000)}
    return {key: read[str(client.type(key))](key) for key in sorted(keys)}


def api_ready(wf) -> bool:
    try:
        return httpx.get(f"{wf.stack.api_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def settled(url: str) -> dict[str, object]:
    """The projection once it stops changing (no change in flight between the log and Redis)."""
    previous, current = None, projection(url)
    while current != previous:
        time.sleep(1)
        previous, current = current, projection(url)
    return current


def test_a_redis_restart_loses_no_alert_and_the_workflow_goes_on(wf):
    before = open_cases(wf, "HRR", 4)
    wf.restart_redis()
    wait_until(lambda: api_ready(wf), 60, "the API reaching the restarted Redis")
    admin = login(wf.stack)
    assert every_alert(wf, admin) == before
    wf.publish(score("HRR9"))
    alert = poll(f"{wf.stack.api_url}/alerts", admin, lambda b: b["items"], household_id="HRR9")["items"][0]
    worker = login(wf.stack, "hrr.worker", password_of("hrr.worker"))
    body = {"to": "verifying", "note": "", "expected_version": alert["version"]}
    taken = httpx.post(f"{wf.stack.api_url}/alerts/{alert['id']}/transitions", json=body, headers=worker)
    assert taken.status_code == 200 and taken.json()["status"] == "verifying"


def test_after_a_flushall_the_rebuild_restores_every_alert_and_its_history(wf):
    open_cases(wf, "HRB", 4)
    settled(wf.stack.redis_url)
    live_alerts = every_alert(wf, login(wf.stack))
    for name in ("alerts", "api"):
        wf.stack.processes[name].stop()
    live = projection(wf.stack.redis_url)
    assert sum(key.startswith("alerts:alert:") for key in live) == len(live_alerts) >= 8
    assert {"alerts:ix:532328101:reviewing:red", "alerts:ix:532328:counts"} <= set(live)
    redis.Redis.from_url(wf.stack.redis_url).flushall()
    assert projection(wf.stack.redis_url) == {}

    done = wf.stack.run_alerts_rebuild()
    assert done.returncode == 0, done.stderr
    assert "alert changes applied" in done.stdout, done.stdout + done.stderr
    assert projection(wf.stack.redis_url) == live, done.stdout

    wf.stack.start("alerts")
    wf.stack.start("api")
    assert every_alert(wf, login(wf.stack)) == live_alerts


def test_an_unreadable_score_and_change_are_set_aside_counted_and_the_alerts_service_goes_on(wf):
    producer = KafkaProducer(bootstrap_servers=wf.stack.bootstrap, **client_options(), acks="all")
    producer.send(wf.scores_topic, b'{"score_id": "broken"', key=b"HDL1")
    producer.send(wf.stack.env["ALERTS_CHANGES_TOPIC"], b"not a change", key=b"HDL1")
    producer.flush()
    producer.close()
    wf.publish(score("HDL1"))
    poll(f"{wf.stack.api_url}/alerts", login(wf.stack), lambda b: b["items"], household_id="HDL1")
    metrics = httpx.get(f"{wf.stack.url_of('alerts')}/metrics").text
    for consumer in ("scores", "projector"):
        line = f'shouwang_alerts_dead_letters_total{{consumer="{consumer}",reason="unreadable"}}'
        assert any(row.startswith(line) and float(row.split()[-1]) >= 1 for row in metrics.splitlines()), consumer
    letters = {m.value: dict(m.headers) for m in read_topic(wf.stack.bootstrap, "alerts.deadletter")}
    assert letters[b'{"score_id": "broken"']["topic"] == wf.scores_topic.encode()
    assert letters[b"not a change"]["consumer"] == b"projector"
