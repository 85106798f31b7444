"""Who may see and do what in the staff API."""

import httpx
import pytest
import redis

from tests.clients import create_user, login, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def two_townships(stack):
    post_event(stack, registration("HA1", 9600, members=4, region_code="532328101001"))
    post_event(stack, registration("HA2", 9600, members=4, region_code="532328102001"))
    admin = login(stack)
    return {"HA1": wait_for_alert(stack, "HA1", admin), "HA2": wait_for_alert(stack, "HA2", admin)}


def test_a_wrong_password_gets_401(stack):
    response = httpx.post(f"{stack.api_url}/auth/token", data={"username": "admin", "password": "nope-nope-nope"})
    assert response.status_code == 401


def test_a_forged_token_gets_401(stack):
    response = httpx.get(f"{stack.api_url}/alerts", headers={"authorization": "Bearer abc.def.ghi"})
    assert response.status_code == 401


def test_only_an_admin_creates_users(stack):
    worker = create_user(stack, "worker.a", "township_worker", "532328101")
    body = {"username": "sneaky", "password": "long-enough-pw", "role": "admin", "region_code": "53"}
    assert httpx.post(f"{stack.api_url}/users", json=body, headers=worker).status_code == 403


def test_a_new_user_is_checked_field_by_field(stack):
    body = {"username": "X", "password": "short", "role": "mayor", "region_code": "5"}
    response = httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack))
    assert response.status_code == 422
    assert {e["loc"][-1] for e in response.json()["detail"]} == {"username", "password", "role", "region_code"}


def test_a_taken_username_gets_409(stack):
    create_user(stack, "worker.dup", "township_worker", "532328101")
    body = {"username": "worker.dup", "password": "another-long-pw", "role": "analyst", "region_code": "53"}
    assert httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack)).status_code == 409


def test_a_township_worker_sees_only_their_townships_alerts(stack, two_townships):
    worker = create_user(stack, "worker.b", "township_worker", "532328101")
    listed = httpx.get(f"{stack.api_url}/alerts", params={"limit": 500}, headers=worker).json()
    households = {item["household_id"] for item in listed["items"]}
    assert "HA1" in households and "HA2" not in households
    assert all(item["region_code"].startswith("532328101") for item in listed["items"])
    assert listed["total"] == len(listed["items"])
    other = two_townships["HA2"]["id"]
    assert httpx.get(f"{stack.api_url}/alerts/{other}", headers=worker).status_code == 404
    assert httpx.get(f"{stack.api_url}/households/HA2", headers=worker).status_code == 404
    filtered = httpx.get(f"{stack.api_url}/alerts", params={"household_id": "HA2"}, headers=worker).json()
    assert filtered == {"items": [], "total": 0, "offset": 0, "limit": 50}


def test_a_county_supervisor_sees_every_township_of_the_county(stack, two_townships):
    supervisor = create_user(stack, "county.c", "county_supervisor", "532328")
    for household_id, alert in two_townships.items():
        assert httpx.get(f"{stack.api_url}/alerts/{alert['id']}", headers=supervisor).status_code == 200
        assert httpx.get(f"{stack.api_url}/households/{household_id}", headers=supervisor).status_code == 200


def test_every_read_of_an_alert_or_household_by_a_person_is_audited(stack, two_townships):
    supervisor = create_user(stack, "county.audit", "county_supervisor", "532328")
    alert_id = two_townships["HA1"]["id"]
    httpx.get(f"{stack.api_url}/alerts/{alert_id}", headers=supervisor).raise_for_status()
    httpx.get(f"{stack.api_url}/households/HA1", headers=supervisor).raise_for_status()
    entries = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrange("audit:log")
    mine = [(e["action"], e["target"]) for _, e in entries if e["user"] == "county.audit"]
    assert mine == [("alert.read", alert_id), ("household.read", "HA1")]


def test_an_unknown_alert_gets_404(stack):
    assert httpx.get(f"{stack.api_url}/alerts/nope", headers=login(stack)).status_code == 404
