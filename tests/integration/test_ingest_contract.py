"""The INTERFACE.md ingest contract, against the running ingest service on real Kafka and Redis."""

import json
from datetime import datetime

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary_event
from cloudevents.core.v1.event import CloudEvent

from tests.clients import BATCH, post_batch, post_event, read_topic
from tests.factories import income, registration

pytestmark = pytest.mark.integration


def canonical_ids(stack):
    return [json.loads(m.value)["id"] for m in read_topic(stack.bootstrap, "events.canonical")]


def test_a_valid_structured_event_is_accepted_and_written_to_the_canonical_topic(stack):
    event = registration("HC1", 50000)
    response = post_event(stack, event)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"
    messages = [m for m in read_topic(stack.bootstrap, "events.canonical") if json.loads(m.value)["id"] == event["id"]]
    assert [m.key for m in messages] == [b"HC1"]


def test_a_duplicate_is_acknowledged_and_has_no_effect(stack):
    event = income("HC2", "2025-03", 100)
    assert post_event(stack, event).status_code == 202
    again = post_event(stack, event)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert canonical_ids(stack).count(event["id"]) == 1


def test_binary_mode_from_the_official_sdk_is_accepted(stack):
    raw = registration("HC3", 50000)
    attributes = {k: v for k, v in raw.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(raw["time"])
    message = to_binary_event(CloudEvent(attributes=attributes, data=raw["data"]))
    response = httpx.post(
        f"{stack.ingest_url}/events",
        content=message.body,
        headers={**message.headers, "authorization": f"Bearer {stack.ingest_key}"},
    )
    assert response.status_code == 202, response.text


def test_a_batch_reports_each_events_outcome(stack):
    good = income("HC4", "2025-03", 100)
    bad = income("HC4", "2025-04", -5)
    response = post_batch(stack, [good, bad, good])
    assert response.status_code == 207
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "duplicate"]
    assert body["results"][1]["errors"] == [{"field": "data.amount", "reason": "must be ≥ 0"}]
    assert (body["accepted"], body["rejected"], body["duplicate"]) == (1, 1, 1)


def test_an_invalid_event_gets_422_naming_each_field(stack):
    event = registration("HC5", -1, members=0)
    response = post_event(stack, event)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"data.members", "data.annual_net_income"}
    assert event["id"] not in canonical_ids(stack)


def test_a_batch_over_the_limit_gets_413(stack):
    response = post_batch(stack, [income("HC6", "2025-03", 1)] * 1001)
    assert response.status_code == 413
    assert "at most 1000" in response.json()["detail"]


def test_an_oversized_body_gets_413(stack):
    response = post_event(stack, b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert response.status_code == 413


def test_unparseable_json_gets_400(stack):
    response = post_event(stack, b'{"specversion": "1.0",')
    assert response.status_code == 400
    assert "not JSON" in response.json()["detail"]


def test_a_wrong_content_type_gets_415(stack):
    response = post_event(stack, registration("HC7", 1), headers={"content-type": "text/csv"})
    assert response.status_code == 415


def test_a_missing_or_unknown_key_gets_401(stack):
    response = httpx.post(f"{stack.ingest_url}/events", json=registration("HC8", 1), headers=BATCH)
    assert response.status_code == 401
    assert post_event(stack, registration("HC8", 1), key="not-a-key").status_code == 401


def test_a_key_publishing_outside_its_source_prefix_gets_403(stack):
    event = registration("HC9", 1)
    event["source"] = "/medical-insurance/5325"
    response = post_event(stack, event, key="civil-key")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "source"


def test_health_readiness_and_metrics_are_served(stack):
    for url in (stack.ingest_url, stack.api_url):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200
    assert "shouwang_ingest_events_total" in httpx.get(f"{stack.ingest_url}/metrics").text
