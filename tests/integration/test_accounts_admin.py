"""Admins list, disable, enable and reset staff accounts inside their own jurisdiction."""

import httpx
import pytest
import redis

from tests.clients import create_user, login, password_of

pytestmark = pytest.mark.integration


def post(stack, path, headers, body=None):
    return httpx.post(f"{stack.api_url}{path}", json=body, headers=headers, timeout=30)


def token_request(stack, username, password):
    return httpx.post(f"{stack.api_url}/auth/token", data={"username": username, "password": password}, timeout=30)


def test_an_admin_lists_users_without_their_password_hashes(stack):
    create_user(stack, "adm.listed", "county_supervisor", "532328")
    response = httpx.get(f"{stack.api_url}/users", headers=login(stack))
    users = {user["username"]: user for user in response.json()}
    assert users["adm.listed"] == {**users["adm.listed"], "role": "county_supervisor", "region_code": "532328"}
    assert users["admin"]["region_code"] == ""
    assert "password" not in response.text and "argon2" not in response.text
    assert list(users) == sorted(users)


def test_users_me_names_the_caller_with_role_and_jurisdiction(stack):
    worker = create_user(stack, "adm.me", "township_worker", "532328101")
    body = httpx.get(f"{stack.api_url}/users/me", headers=worker).json()
    assert (body["username"], body["role"], body["region_code"], body["disabled"]) == (
        "adm.me",
        "township_worker",
        "532328101",
        False,
    )


def test_only_an_admin_lists_disables_or_resets_users(stack):
    supervisor = create_user(stack, "adm.notadmin", "county_supervisor", "532328")
    assert httpx.get(f"{stack.api_url}/users", headers=supervisor).status_code == 403
    assert post(stack, "/users/adm.notadmin/disable", supervisor).status_code == 403
    assert (
        post(stack, "/users/adm.notadmin/reset-password", supervisor, {"password": "0123456789ab"}).status_code == 403
    )


def test_a_disabled_users_tokens_are_refused_at_once_and_enabling_lets_them_log_in_again(stack):
    worker = create_user(stack, "adm.disabled", "township_worker", "532328101")
    refresh = token_request(stack, "adm.disabled", password_of("adm.disabled")).json()["refresh_token"]
    assert post(stack, "/users/adm.disabled/disable", login(stack)).json()["disabled"] is True
    assert httpx.get(f"{stack.api_url}/alerts", headers=worker).status_code == 401
    assert httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    assert token_request(stack, "adm.disabled", password_of("adm.disabled")).status_code == 401
    assert post(stack, "/users/adm.disabled/enable", login(stack)).json()["disabled"] is False
    assert httpx.get(f"{stack.api_url}/alerts", headers=worker).status_code == 401  # re-enabling does not revive tokens
    assert token_request(stack, "adm.disabled", password_of("adm.disabled")).status_code == 200


def test_a_password_reset_lifts_a_lockout_and_ends_the_old_tokens(stack):
    worker = create_user(stack, "adm.reset", "township_worker", "532328101")
    for _ in range(5):
        token_request(stack, "adm.reset", "wrong-password-x")
    assert token_request(stack, "adm.reset", password_of("adm.reset")).status_code == 429
    reset = post(stack, "/users/adm.reset/reset-password", login(stack), {"password": "a-brand-new-passphrase"})
    assert reset.status_code == 200
    assert httpx.get(f"{stack.api_url}/alerts", headers=worker).status_code == 401
    assert token_request(stack, "adm.reset", password_of("adm.reset")).status_code == 401
    assert token_request(stack, "adm.reset", "a-brand-new-passphrase").status_code == 200


def test_a_reset_password_is_checked_like_a_new_one(stack):
    create_user(stack, "adm.short", "township_worker", "532328101")
    response = post(stack, "/users/adm.short/reset-password", login(stack), {"password": "short"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_an_admin_cannot_disable_their_own_account(stack):
    response = post(stack, "/users/admin/disable", login(stack))
    assert response.status_code == 409 and "your own account" in response.json()["detail"]


def test_managing_an_unknown_or_malformed_user_names_the_problem(stack):
    admin = login(stack)
    unknown = post(stack, "/users/adm.ghost/disable", admin)
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no user 'adm.ghost'")
    malformed = post(stack, "/users/Not%20A%20Name/disable", admin)
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["path", "username"]


def test_a_regional_admin_manages_only_accounts_inside_their_region(stack):
    regional = create_user(stack, "adm.yunnan", "admin", "53")
    create_user(stack, "adm.guizhou", "township_worker", "520102001")
    create_user(stack, "adm.local", "township_worker", "532328101")
    names = {user["username"] for user in httpx.get(f"{stack.api_url}/users", headers=regional).json()}
    assert "adm.local" in names and "adm.guizhou" not in names and "admin" not in names
    assert post(stack, "/users/adm.guizhou/disable", regional).status_code == 403
    assert post(stack, "/users/admin/reset-password", regional, {"password": "0123456789ab"}).status_code == 403
    body = {"username": "adm.outside", "password": "long-enough-pw", "role": "analyst", "region_code": "52"}
    outside = post(stack, "/users", regional, body)
    assert outside.status_code == 403 and "outside your jurisdiction" in outside.json()["detail"]
    assert post(stack, "/users/adm.local/disable", regional).status_code == 200


def test_every_account_change_is_audited(stack):
    create_user(stack, "adm.audited", "analyst", "53")
    post(stack, "/users/adm.audited/disable", login(stack)).raise_for_status()
    entries = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrange("audit:log")
    mine = [(e["action"], e["target"]) for _, e in entries if e["target"] == "user:adm.audited"]
    assert mine == [("user.created", "user:adm.audited"), ("user.disabled", "user:adm.audited")]
