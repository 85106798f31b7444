"""From an upstream event to an alert a township worker can read, through every real service."""

import json
import time
from datetime import datetime

import httpx
import pytest
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent

from tests.clients import login, post_event, wait_for_alert
from tests.factories import income, registration

pytestmark = pytest.mark.integration


def test_a_household_below_the_line_sent_with_the_cloudevents_sdk_becomes_a_red_alert(stack):
    raw = registration("HP1", 9600, members=4)
    attributes = {k: v for k, v in raw.items() if k != "data"} | {"time": datetime.fromisoformat(raw["time"])}
    message = to_structured_event(CloudEvent(attributes=attributes, data=raw["data"]))
    started = time.monotonic()
    response = httpx.post(
        f"{stack.ingest_url}/events",
        content=message.body,
        headers={**message.headers, "authorization": f"Bearer {stack.ingest_key}"},
    )
    assert response.status_code == 202, response.text
    alert = wait_for_alert(stack, "HP1", login(stack))
    print(f"alert visible {time.monotonic() - started:.2f}s after acceptance")
    assert alert["level"] == "red" and alert["status"] == "open"
    reasons = {r["code"]: r for r in alert["reasons"]}
    assert reasons["income_below_threshold"]["evidence"]["per_capita_income"] == 2400
    assert "2,400 per person, below the 8,700 line" in reasons["income_below_threshold"]["message_en"]
    assert alert["region_code"] == "532328101001" and alert["due_at"] > alert["created_at"]


def test_a_household_above_the_line_gets_figures_but_no_alert(stack):
    headers = login(stack)
    assert post_event(stack, registration("HP2", 100000, members=2)).status_code == 202
    deadline = time.monotonic() + 60
    while (response := httpx.get(f"{stack.api_url}/households/HP2", headers=headers)).status_code == 404:
        assert time.monotonic() < deadline, "household never scored"
        time.sleep(0.2)
    household = response.json()
    assert household["level"] == "green" and household["alerts"] == []
    assert household["figures"]["per_capita_income"] == 50000
    alerts = httpx.get(f"{stack.api_url}/alerts", params={"household_id": "HP2"}, headers=headers).json()
    assert alerts["total"] == 0


def test_new_evidence_updates_the_one_open_alert(stack):
    headers = login(stack)
    post_event(stack, registration("HP3", 30000, members=4))
    first = wait_for_alert(stack, "HP3", headers)
    post_event(stack, income("HP3", "2025-04", 0))
    deadline = time.monotonic() + 60
    while True:
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": "HP3"}, headers=headers).json()
        if page["items"][0]["version"] > first["version"]:
            break
        assert time.monotonic() < deadline, "alert never updated"
        time.sleep(0.2)
    assert page["total"] == 1 and page["items"][0]["id"] == first["id"]
    assert page["items"][0]["history"][-1]["change"] == "evidence_added"


def test_the_household_view_shows_figures_timeline_and_alert(stack):
    headers = login(stack)
    post_event(stack, registration("HP4", 9600, members=4))
    alert = wait_for_alert(stack, "HP4", headers)
    household = httpx.get(f"{stack.api_url}/households/HP4", headers=headers).json()
    assert household["figures"]["income_12m"] == 9600
    assert household["timeline"][0]["kind"] == "score"
    assert household["alerts"][0]["id"] == alert["id"]
    assert json.dumps(household).count("income_below_threshold") >= 1
