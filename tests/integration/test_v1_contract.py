"""The v1 contract (shared/INTERFACE.md), each call made exactly as the document writes it, on the real stack.

Only fields and values the document names are sent or relied on, so that a later change that makes a v1 call
need anything new, or drops anything v1 promises, fails here. Households of this module start with `HV1`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from services.common.kafka_auth import client_options
from tests.clients import password_of, read_topic
from tests.factories import resident_id
from tests.infra import Stack

pytestmark = pytest.mark.integration
ALERT_FIELDS = {"id", "household_id", "region_code", "level", "status", "reasons", "created_at", "updated_at", "due_at"}
ATTRIBUTES = ("specversion", "id", "source", "type", "time")  # the required CloudEvents attributes
REASON_CODES = {
    "income_below_threshold",
    "income_after_rigid_spending_below_threshold",
    "income_drop",
    "medical_burden",
    "disaster_house_damage",
    "disaster_economic_loss",
    "self_declared",
    "model_risk",
}


def event(event_type: str, data: dict[str, Any], source: str = "/civil-affairs/532328") -> dict[str, Any]:
    """A structured-mode CloudEvent with the required attributes only."""
    return {
        "specversion": "1.0",
        "id": f"v1-{uuid.uuid4().hex[:12]}",
        "source": source,
        "type": event_type,
        "time": "2025-03-01T08:00:00+08:00",
        "data": data,
    }


def registered(household_id: str, income: float, region_code: str = "532328101001", **optional: Any) -> dict:
    data = {"household_id": household_id, "region_code": region_code, "members": 4, "labourers": 2,
            "category": "poverty_exited", "annual_net_income": income, **optional}  # fmt: skip
    return event("household.registered", data)


def canonical(stack: Stack) -> dict[str, dict[str, Any]]:
    """Every event on events.canonical by id."""
    return {json.loads(m.value)["id"]: json.loads(m.value) for m in read_topic(stack.bootstrap, "events.canonical")}


def publish(stack: Stack, body: Any, content_type: str = "application/cloudevents+json", **headers: str):
    return httpx.post(
        f"{stack.ingest_url}/events",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {stack.ingest_key}", "Content-Type": content_type, **headers},
        timeout=30,
    )


def token(stack: Stack, username: str = "admin", password: str | None = None) -> dict[str, str]:
    """`POST /auth/token` (OAuth2 password form) -> {access_token, token_type}."""
    form = {"username": username, "password": password or stack.admin_password}
    answer = httpx.post(f"{stack.api_url}/auth/token", data=form, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"].lower() == "bearer" and body["access_token"]
    return {"Authorization": f"Bearer {body['access_token']}"}


def staff(stack: Stack, username: str, role: str, region_code: str) -> dict[str, str]:
    """`POST /users` (admin) {username, password, role, region_code}, then that user's token."""
    password = password_of(username)
    body = {"username": username, "password": password, "role": role, "region_code": region_code}
    created = httpx.post(f"{stack.api_url}/users", json=body, headers=token(stack), timeout=30)
    assert created.status_code in (200, 201), created.text
    return token(stack, username, password)


def alerts(stack: Stack, headers: dict[str, str], **filters: Any) -> dict[str, Any]:
    answer = httpx.get(f"{stack.api_url}/alerts", params=filters, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def the_alert(stack: Stack, headers: dict[str, str], household_id: str, seconds: float = 60) -> dict[str, Any]:
    """Poll `GET /alerts?household_id=` until the household's alert is there."""
    deadline = time.monotonic() + seconds
    while not (page := alerts(stack, headers, household_id=household_id))["items"]:
        assert time.monotonic() < deadline, f"no alert for {household_id}"
        time.sleep(0.2)
    item: dict[str, Any] = page["items"][0]
    return item


def test_every_service_answers_healthz_readyz_and_metrics(stack):
    for url in (stack.ingest_url, stack.api_url):
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 200


def test_events_are_accepted_in_structured_binary_and_batch_mode_and_a_repeat_is_a_duplicate(stack):
    structured = registered("HV1S", 60000)
    assert publish(stack, structured).status_code == 202
    assert publish(stack, structured).status_code in (200, 202)  # acknowledged: a duplicate, no effect

    binary = registered("HV1B", 60000)
    ce = {f"ce-{name}": str(binary[name]) for name in ATTRIBUTES}
    assert publish(stack, binary["data"], "application/json", **ce).status_code == 202

    good = event("income.reported", {"household_id": "HV1S", "period": "2025-02", "amount": 3000})
    bad = event("income.reported", {"household_id": "HV1S", "period": "2025-02", "amount": -1})
    answer = publish(stack, [good, bad, good], "application/cloudevents-batch+json")
    assert answer.status_code == 207
    outcomes = [result["status"] for result in answer.json()["results"]]
    assert outcomes == ["accepted", "rejected", "duplicate"]
    assert answer.json()["results"][1]["errors"]  # the reason


def test_bad_input_is_refused_with_the_documented_status_and_the_field_named(stack):
    assert publish(stack, b'{"specversion": "1.0",').status_code == 400
    assert publish(stack, registered("HV1X", 1), "text/csv").status_code == 415
    assert publish(stack, [registered("HV1X", 1)] * 1001, "application/cloudevents-batch+json").status_code == 413
    unknown = registered("HV1X", 60000)
    unknown["data"]["nickname"] = "x"  # unknown data fields are rejected
    invalid = publish(stack, unknown)
    assert invalid.status_code == 422 and "nickname" in invalid.text
    valid = resident_id("53232819800101123")
    refused = publish(stack, registered("HV1X", 60000, head_id=valid[:-1] + ("1" if valid[-1] == "0" else "0")))
    assert refused.status_code == 422 and "head_id" in refused.text  # the GB 11643 check digit is wrong
    foreign = registered("HV1X", 60000)
    foreign["source"] = "/medical-insurance/5323"  # the key `civil-key` publishes /civil-affairs only
    answer = httpx.post(
        f"{stack.ingest_url}/events",
        content=json.dumps(foreign).encode(),
        headers={"Authorization": "Bearer civil-key", "Content-Type": "application/cloudevents+json"},
    )
    assert answer.status_code == 403


def test_an_event_produced_to_events_inbound_in_binary_mode_is_validated_and_reaches_the_pipeline(stack):
    good, bad = registered("HV1K", 60000), registered("HV1K", 60000)
    bad["data"]["members"] = 0
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all")
    for message in (good, bad):
        headers = [
            (f"ce_{name}", str(message[name]).encode()) for name in ("specversion", "id", "source", "type", "time")
        ]
        producer.send("events.inbound", json.dumps(message["data"]).encode(), headers=headers)
    producer.flush()
    producer.close()
    deadline = time.monotonic() + 60
    while good["id"] not in (found := canonical(stack)):
        assert time.monotonic() < deadline, "the valid inbound event never reached the pipeline"
        time.sleep(0.5)
    assert bad["id"] not in found
    while not any(bad["id"].encode() in m.value for m in read_topic(stack.bootstrap, "events.deadletter")):
        assert time.monotonic() < deadline, "the invalid inbound event is not dead-lettered"
        time.sleep(0.5)


def test_a_household_below_the_line_gets_one_red_alert_with_the_documented_fields_and_filters(stack):
    admin = token(stack)
    assert publish(stack, registered("HV1A", 9600, region_code="532328109001")).status_code == 202
    alert = the_alert(stack, admin, "HV1A")
    assert set(alert) >= ALERT_FIELDS
    assert (alert["level"], alert["status"], alert["region_code"]) == ("red", "open", "532328109001")
    assert {reason["code"] for reason in alert["reasons"]} <= REASON_CODES
    assert "income_below_threshold" in {reason["code"] for reason in alert["reasons"]}

    filters = {"status": "open", "level": "red", "region_code": "532328109", "household_id": "HV1A", "overdue": "false"}
    page = alerts(stack, admin, **filters)
    assert {"items", "total"} <= set(page) and page["total"] == 1 and page["items"][0]["id"] == alert["id"]
    for name, other in (
        ("status", "verifying"),
        ("level", "yellow"),
        ("region_code", "532328108"),
        ("overdue", "true"),
    ):
        assert alerts(stack, admin, **{**filters, name: other})["total"] == 0, name
    one = httpx.get(f"{stack.api_url}/alerts/{alert['id']}", headers=admin, timeout=30)
    assert one.status_code == 200 and one.json()["id"] == alert["id"]

    again = registered("HV1A", 9000, region_code="532328109001")  # new evidence joins the open alert
    assert publish(stack, again).status_code == 202
    time.sleep(2)
    assert alerts(stack, admin, household_id="HV1A")["total"] == 1


def test_a_transition_sent_as_the_contract_shows_moves_the_alert_and_forbidden_moves_say_why(stack):
    assert publish(stack, registered("HV1T", 9600, region_code="532328107001")).status_code == 202
    worker = staff(stack, "v1.worker", "township_worker", "532328107")
    elsewhere = staff(stack, "v1.elsewhere", "township_worker", "532328106")
    alert = the_alert(stack, worker, "HV1T")
    url = f"{stack.api_url}/alerts/{alert['id']}/transitions"

    outside = httpx.post(url, json={"to": "verifying", "note": "taking it"}, headers=elsewhere, timeout=30)
    assert outside.status_code == 403
    taken = httpx.post(url, json={"to": "verifying", "note": "taking it"}, headers=worker, timeout=30)
    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "verifying"
    forbidden = httpx.post(url, json={"to": "resolved", "note": "done?"}, headers=worker, timeout=30)
    assert forbidden.status_code == 409 and "verifying" in forbidden.text  # the explanation names where it stands
    assert httpx.get(f"{stack.api_url}/alerts/{alert['id']}", headers=worker).json()["status"] == "verifying"


def test_a_household_shows_its_profile_figures_timeline_scores_and_alerts(stack):
    admin = token(stack)
    registration = registered("HV1H", 9600, region_code="532328105001")
    assert publish(stack, registration).status_code == 202
    the_alert(stack, admin, "HV1H")
    answer = httpx.get(f"{stack.api_url}/households/HV1H", headers=admin, timeout=30)
    assert answer.status_code == 200
    household = answer.json()
    assert household["household_id"] == "HV1H" and household["region_code"] == "532328105001"
    figures = household["figures"]
    assert figures["income_12m"] == 9600 and figures["per_capita_income"] == 2400
    assert "per_capita_after_rigid_spending" in figures  # rigid spending
    causes = [cause for entry in household["timeline"] for cause in entry.get("caused_by", [])]
    assert any(registration["id"] in cause for cause in causes)
    assert [alert["household_id"] for alert in household["alerts"]] == ["HV1H"]


def test_stats_count_open_and_overdue_alerts_by_region_level_and_status(stack):
    admin = token(stack)
    assert publish(stack, registered("HV1C", 9600, region_code="532328104001")).status_code == 202
    the_alert(stack, admin, "HV1C")
    answer = httpx.get(f"{stack.api_url}/stats", headers=admin, timeout=30)
    assert answer.status_code == 200
    stats = answer.json()
    assert stats["open"] >= 1 and stats["overdue"] >= 0
    assert stats["by_level"]["red"] >= 1 and stats["by_status"]["open"] >= 1
    assert any(row["township"] == "532328104" and row["open"] >= 1 for row in stats["by_township"])


def test_a_user_sees_and_changes_nothing_outside_their_jurisdiction(stack):
    admin = token(stack)
    for household, village in (("HV1J", "532328103001"), ("HV1K2", "532328102001")):
        assert publish(stack, registered(household, 9600, region_code=village)).status_code == 202
    theirs, other = the_alert(stack, admin, "HV1J"), the_alert(stack, admin, "HV1K2")
    supervisor = staff(stack, "v1.county", "county_supervisor", "5323")  # a prefix of 2-12 digits
    worker = staff(stack, "v1.township", "township_worker", "532328103")
    assert alerts(stack, worker, household_id="HV1J")["total"] == 1
    assert alerts(stack, worker, household_id="HV1K2")["total"] == 0
    assert all(item["region_code"].startswith("532328103") for item in alerts(stack, worker)["items"])
    assert httpx.get(f"{stack.api_url}/alerts/{other['id']}", headers=worker).status_code in (403, 404)
    assert httpx.get(f"{stack.api_url}/alerts/{theirs['id']}", headers=supervisor).status_code == 200
    assert httpx.get(f"{stack.api_url}/households/HV1K2", headers=worker).status_code in (403, 404)


def test_person_level_records_find_their_household_through_member_ids_or_are_kept(stack):
    person, stranger = resident_id("53232819750303551"), resident_id("53232819750303552")
    registration = registered("HV1P", 60000, region_code="532328101002", member_ids=[person])
    assert publish(stack, registration).status_code == 202
    data = {"member_id": person, "date": "2025-03-05", "total_cost": 8000, "out_of_pocket": 4000}
    bill = event("medical.expense.incurred", data, source="/medical-insurance/5323")
    assert publish(stack, bill).status_code == 202
    unmatched = event("medical.expense.incurred", {**data, "member_id": stranger}, source="/medical-insurance/5323")
    kept = publish(stack, unmatched)
    assert kept.status_code == 202  # kept, pseudonymised, never dropped
    deadline = time.monotonic() + 60
    while True:
        found = {
            json.loads(m.value)["id"]: json.loads(m.value) for m in read_topic(stack.bootstrap, "events.canonical")
        }
        if bill["id"] in found:
            break
        assert time.monotonic() < deadline, "the person-level record never found its household"
        time.sleep(0.5)
    assert found[bill["id"]]["data"]["household_id"] == "HV1P"
    everything = b"".join(m.value for topic in ("events.canonical", "persons.unmatched")
                          for m in read_topic(stack.bootstrap, topic))  # fmt: skip
    assert person.encode() not in everything and stranger.encode() not in everything
