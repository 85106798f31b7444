"""Least privilege and audited powers on the real stack: analysts read no cases unless granted, and every
subscription, model change and account change names who, what and where in the audit trail."""

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer

from services.analytics import registry
from services.common.kafka_auth import client_options
from services.scoring.model import activation_message
from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import registration
from tests.models import train_toy_model

pytestmark = pytest.mark.integration


def audited(stack, headers, **filters: str) -> list[dict]:
    page = httpx.get(f"{stack.api_url}/audit", params={**filters, "limit": 500}, headers=headers, timeout=30)
    assert page.status_code == 200, page.text
    return page.json()["items"]


def test_an_analyst_reads_aggregates_but_no_case_until_an_admin_grants_it_audited(stack):
    assert post_event(stack, registration("HSEC-LP1", 9600, region_code="532328102001")).status_code == 202
    alert = wait_for_alert(stack, "HSEC-LP1", login(stack))
    analyst = create_user(stack, "sec.lp.analyst", "analyst", "532328")
    county_admin = create_user(stack, "sec.lp.admin", "admin", "532328")
    case_reads = [
        "/alerts",
        f"/alerts/{alert['id']}",
        "/households/HSEC-LP1",
        "/ledger.csv?township=532328102",
        "/alerts/stream",
    ]
    for path in case_reads:
        response = httpx.get(f"{stack.api_url}{path}", headers=analyst, timeout=10)
        assert response.status_code == 403 and "township and county staff" in response.text, (path, response.text)
    assert httpx.get(f"{stack.api_url}/stats", headers=analyst).status_code == 200  # aggregates

    access = f"{stack.api_url}/users/sec.lp.analyst/case-access"
    grant = httpx.post(access, json={"granted": True}, headers=county_admin)
    assert grant.status_code == 200 and grant.json()["case_access"] is True
    assert httpx.get(f"{stack.api_url}/alerts", headers=analyst).status_code == 200
    entries = audited(stack, county_admin, action="user.case_access_granted")
    assert [(e["user"], e["target"], e["region"]) for e in entries] == [
        ("sec.lp.admin", "user:sec.lp.analyst", "532328")
    ]
    httpx.post(access, json={"granted": False}, headers=county_admin)
    assert httpx.get(f"{stack.api_url}/alerts", headers=analyst).status_code == 403


def test_subscribing_and_unsubscribing_are_audited_with_who_and_the_region(stack):
    supervisor = create_user(stack, "sec.subscriber", "county_supervisor", "532328")
    body = {"region_prefix": "532328101", "url": "http://127.0.0.1:9/outside", "secret": "s" * 20}
    created = httpx.post(f"{stack.api_url}/subscriptions", json=body, headers=supervisor)
    assert created.status_code == 201, created.text
    sub_id = created.json()["id"]
    assert httpx.delete(f"{stack.api_url}/subscriptions/{sub_id}", headers=supervisor).status_code == 204
    entries = audited(stack, create_user(stack, "sec.sub.admin", "admin", "532328"), target=f"subscription:{sub_id}")
    assert sorted((e["user"], e["action"], e["region"], e["host"]) for e in entries) == [
        ("sec.subscriber", "subscription.created", "532328101", "127.0.0.1"),
        ("sec.subscriber", "subscription.deleted", "532328101", "127.0.0.1"),
    ]


@pytest.fixture
def restore_activation(stack):
    """Whatever model was active before the test is active again after it."""
    before = registry.active(registry.activations(stack.bootstrap))
    yield
    manifest = registry.verified(Path(stack.env["MODEL_DIR"]), str(before.version)) if before else None
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all")
    producer.send("models.activations", activation_message(manifest, "tests", datetime.now(UTC))).get(30)
    producer.close()
    time.sleep(2)


def test_every_change_to_the_model_is_audited_and_training_takes_no_server_path(stack, restore_activation):
    for version in ("sec-audit-1", "sec-audit-2"):
        train_toy_model(Path(stack.env["MODEL_DIR"]), version)
    analyst = create_user(stack, "sec.model", "analyst", "")
    url = f"{stack.api_url}/models"
    changes = [("POST", "/sec-audit-1/shadow"), ("DELETE", "/shadow"), ("POST", "/sec-audit-1/activate"),
               ("POST", "/sec-audit-2/activate"), ("POST", "/rollback")]  # fmt: skip
    for method, path in changes:
        assert httpx.request(method, url + path, headers=analyst, timeout=30).status_code == 200, path
    for server_path in ({"policy_dir": "/etc"}, {"labels": ["/etc/passwd"]}):
        refused = httpx.post(f"{url}/train", json={"households": 200, **server_path}, headers=analyst, timeout=30)
        assert refused.status_code == 422 and next(iter(server_path)) in refused.text
    entries = audited(stack, login(stack), user="sec.model")
    assert {(e["action"], e["region"]) for e in entries} >= {
        ("model.shadow_started", ""),
        ("model.shadow_stopped", ""),
        ("model.activated", ""),
        ("model.rolled_back", ""),
    }
    assert "model:sec-audit-1" in {e["target"] for e in entries}
