"""Attacks across jurisdictions: a county admin or analyst reaching national or another county's data, peers
managing peers, ids probed for existence, and tokens outliving their account."""

import uuid

import httpx
import pytest
import redis

from tests.clients import create_user, login, password_of, post_event, wait_for_alert
from tests.factories import registration

pytestmark = pytest.mark.integration
COUNTY_A, COUNTY_B = "532350", "532351"


def get(stack, path: str, headers: dict[str, str], **params) -> httpx.Response:
    return httpx.get(f"{stack.api_url}{path}", params=params, headers=headers, timeout=60)


def post(stack, path: str, headers: dict[str, str], body: dict | None = None) -> httpx.Response:
    return httpx.post(f"{stack.api_url}{path}", json=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def counties(stack):
    """A red alert in each of two counties, a worker in each, and an admin of the first county."""
    post_event(stack, registration("HSEC000001", 9600, region_code=f"{COUNTY_A}101001"))
    post_event(stack, registration("HSEC000002", 9600, region_code=f"{COUNTY_B}101001"))
    admin = login(stack)
    return {
        "alert_a": wait_for_alert(stack, "HSEC000001", admin),
        "alert_b": wait_for_alert(stack, "HSEC000002", admin),
        "worker_a": create_user(stack, "sec.worker.a", "township_worker", f"{COUNTY_A}101"),
        "worker_b": create_user(stack, "sec.worker.b", "township_worker", f"{COUNTY_B}101"),
        "admin_a": create_user(stack, "sec.admin.a", "admin", COUNTY_A),
    }


def test_a_county_admin_reads_only_the_audit_entries_about_their_county(stack, counties):
    get(stack, f"/alerts/{counties['alert_a']['id']}", counties["worker_a"]).raise_for_status()
    get(stack, f"/alerts/{counties['alert_b']['id']}", counties["worker_b"]).raise_for_status()
    entries = get(stack, "/audit", counties["admin_a"], limit=500).json()["items"]
    assert entries and all(entry["region"].startswith(COUNTY_A) for entry in entries)
    seen = {(entry["user"], entry["action"], entry["target"]) for entry in entries}
    assert ("sec.worker.a", "alert.read", counties["alert_a"]["id"]) in seen
    assert ("admin", "user.created", "user:sec.worker.a") in seen
    assert get(stack, "/audit", counties["admin_a"], user="sec.worker.b").json()["items"] == []
    national = get(stack, "/audit", login(stack), user="sec.worker.b", action="alert.read").json()["items"]
    assert [entry["target"] for entry in national] == [counties["alert_b"]["id"]]


def test_a_county_admin_cannot_read_the_delivery_log_of_another_countys_subscription(stack, counties):
    body = {"region_prefix": COUNTY_B, "url": "http://93.184.215.14/hook", "secret": "a-webhook-secret-0123456789"}
    subscription = post(stack, "/subscriptions", login(stack), body)
    assert subscription.status_code == 201, subscription.text
    log = f"/subscriptions/{subscription.json()['id']}/deliveries"
    refused = get(stack, log, counties["admin_a"])
    assert refused.status_code == 403 and "outside your jurisdiction" in refused.json()["detail"]
    assert get(stack, log, login(stack)).status_code == 200
    assert get(stack, f"/subscriptions/{uuid.uuid4()}/deliveries", counties["admin_a"]).status_code == 404


def test_a_county_analyst_can_neither_activate_nor_roll_back_nor_shadow_nor_train_a_model(stack):
    county = create_user(stack, "sec.analyst", "analyst", "5323")
    for method, path, body in (
        ("POST", "/models/none-such/activate", None),
        ("POST", "/models/none-such/shadow", None),
        ("DELETE", "/models/shadow", None),
        ("POST", "/models/rollback", None),
        ("POST", "/models/train", {"households": -1}),
    ):
        response = httpx.request(method, f"{stack.api_url}{path}", json=body, headers=county, timeout=60)
        assert response.status_code == 403, path
        assert "needs a national jurisdiction" in response.json()["detail"]
    assert get(stack, "/models", county).status_code == 200  # reading the registry is not national
    national = create_user(stack, "sec.analyst.cn", "analyst", "")
    assert post(stack, "/models/none-such/activate", national).status_code == 404


def test_every_list_read_of_alerts_is_audited_with_the_filter_and_the_ids_returned(stack, counties):
    page = get(stack, "/alerts", counties["worker_a"], status="open", limit=10).json()
    assert page["items"]
    entries = get(stack, "/audit", login(stack), user="sec.worker.a", action="alert.list", limit=1).json()["items"]
    assert entries[0]["target"] == "/alerts?status=open&offset=0&limit=10"
    assert entries[0]["ids"].split() == [alert["id"] for alert in page["items"]]
    assert entries[0]["region"] == f"{COUNTY_A}101"


def test_a_scoped_admin_cannot_reset_disable_or_create_an_admin_of_the_same_jurisdiction(stack):
    one = create_user(stack, "sec.peer.one", "admin", "54")
    create_user(stack, "sec.peer.two", "admin", "54")
    for path, body in (
        ("/users/sec.peer.two/reset-password", {"password": "taken-over-passphrase"}),
        ("/users/sec.peer.two/disable", None),
        ("/users", {"username": "sec.peer.three", "password": "long-enough-pw", "role": "admin", "region_code": "54"}),
    ):
        response = post(stack, path, one, body)
        assert response.status_code == 403, path
        assert "strictly narrower" in response.json()["detail"]
    narrower = {"username": "sec.prefect", "password": "long-enough-pw", "role": "admin", "region_code": "5401"}
    assert post(stack, "/users", one, narrower).status_code == 201
    assert post(stack, "/users/sec.prefect/reset-password", one, {"password": "a-new-passphrase"}).status_code == 200
    worker = {"username": "sec.tibet", "password": "long-enough-pw", "role": "township_worker", "region_code": "54"}
    assert post(stack, "/users", one, worker).status_code == 201
    assert post(stack, "/users/sec.tibet/disable", one).status_code == 200


def test_only_a_national_admin_makes_national_accounts(stack):
    province = create_user(stack, "sec.province", "admin", "53")
    body = {"username": "sec.national", "password": "long-enough-pw", "role": "analyst", "region_code": ""}
    assert post(stack, "/users", province, body).status_code == 403
    created = post(stack, "/users", login(stack), body)
    assert created.status_code == 201 and created.json()["region_code"] == ""


def test_another_townships_alert_or_household_reads_exactly_like_an_unknown_one(stack, counties):
    worker, other, unknown = counties["worker_a"], counties["alert_b"]["id"], str(uuid.uuid4())
    hidden, missing = get(stack, f"/alerts/{other}", worker), get(stack, f"/alerts/{unknown}", worker)
    assert (hidden.status_code, hidden.json()["detail"]) == (404, f"no alert {other}")
    assert (missing.status_code, missing.json()["detail"]) == (404, f"no alert {unknown}")
    hidden, missing = get(stack, "/households/HSEC000002", worker), get(stack, "/households/HSEC999999", worker)
    assert (hidden.status_code, hidden.json()["detail"]) == (404, "no household HSEC000002 has been scored")
    assert (missing.status_code, missing.json()["detail"]) == (404, "no household HSEC999999 has been scored")
    assert hidden.json() == missing.json() | {"detail": hidden.json()["detail"]}  # the same shape: nothing leaks


def test_changing_an_alert_outside_the_jurisdiction_or_an_unknown_one_gets_the_same_403(stack, counties):
    worker, other, unknown = counties["worker_a"], counties["alert_b"]["id"], str(uuid.uuid4())
    for alert_id in (other, unknown):
        move = post(stack, f"/alerts/{alert_id}/transitions", worker, {"to": "verifying", "expected_version": 1})
        assert (move.status_code, move.json()) == (
            403,
            {
                "detail": f"alert {alert_id} is unknown or outside your jurisdiction",
                "status": 403,
                "title": "Forbidden",
            },
        )


def test_a_deleted_and_recreated_username_does_not_bring_back_its_old_tokens(stack):
    create_user(stack, "sec.reborn", "township_worker", f"{COUNTY_A}101")
    form = {"username": "sec.reborn", "password": password_of("sec.reborn")}
    old = httpx.post(f"{stack.api_url}/auth/token", data=form, timeout=60).json()
    redis.Redis.from_url(stack.redis_url).delete("user:sec.reborn")  # an operator removes the account
    create_user(stack, "sec.reborn", "township_worker", f"{COUNTY_A}101")
    assert get(stack, "/users/me", {"authorization": f"Bearer {old['access_token']}"}).status_code == 401
    refreshed = httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": old["refresh_token"]}, timeout=60)
    assert refreshed.status_code == 401
