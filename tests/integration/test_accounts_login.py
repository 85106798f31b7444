"""Logging in: short-lived access tokens, single-use refresh tokens, lockout after repeated failures."""

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests.clients import create_user, login, password_of

pytestmark = pytest.mark.integration


def token_request(stack, username, password):
    return httpx.post(f"{stack.api_url}/auth/token", data={"username": username, "password": password}, timeout=30)


def refresh_request(stack, refresh_token):
    return httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": refresh_token}, timeout=30)


def me(stack, access_token):
    return httpx.get(f"{stack.api_url}/users/me", headers={"authorization": f"Bearer {access_token}"}, timeout=30)


def test_a_login_returns_a_short_lived_access_token_and_a_refresh_token(stack):
    create_user(stack, "acct.login", "township_worker", "532328101")
    body = token_request(stack, "acct.login", password_of("acct.login")).json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60 and body["refresh_token"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert me(stack, body["access_token"]).json()["username"] == "acct.login"


def test_a_refresh_token_gives_a_new_pair_and_works_only_once(stack):
    create_user(stack, "acct.refresh", "analyst", "5323")
    first = token_request(stack, "acct.refresh", password_of("acct.refresh")).json()
    second = refresh_request(stack, first["refresh_token"])
    assert second.status_code == 200
    assert me(stack, second.json()["access_token"]).json()["role"] == "analyst"
    again = refresh_request(stack, first["refresh_token"])
    assert again.status_code == 401
    assert "used or expired" in again.json()["detail"]


def test_an_access_token_is_no_refresh_token_nor_the_other_way_round(stack):
    pair = login(stack)
    access = pair["authorization"].split()[1]
    assert refresh_request(stack, access).status_code == 401
    tokens = token_request(stack, "admin", stack.admin_password).json()
    assert me(stack, tokens["refresh_token"]).status_code == 401


def test_an_expired_access_token_is_refused(stack):
    past = datetime.now(UTC) - timedelta(minutes=1)
    claims = {"sub": "admin", "gen": 0, "typ": "access", "iat": past - timedelta(minutes=15), "exp": past}
    token = jwt.encode(claims, stack.env["JWT_SECRET"], algorithm="HS256")
    response = me(stack, token)
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_logging_out_ends_the_refresh_token(stack):
    tokens = token_request(stack, "admin", stack.admin_password).json()
    assert (
        httpx.post(f"{stack.api_url}/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    )
    assert refresh_request(stack, tokens["refresh_token"]).status_code == 401


def test_five_failed_logins_lock_the_account_even_for_the_right_password(stack):
    create_user(stack, "acct.locked", "township_worker", "532328101")
    codes = [token_request(stack, "acct.locked", "wrong-password-1").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    locked = token_request(stack, "acct.locked", password_of("acct.locked"))
    assert locked.status_code == 429
    assert "account locked, try again in 15 min" in locked.json()["detail"]
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60


def test_a_good_login_forgets_earlier_failures(stack):
    create_user(stack, "acct.forgiven", "township_worker", "532328101")
    for _ in range(4):
        token_request(stack, "acct.forgiven", "wrong-password-1")
    assert token_request(stack, "acct.forgiven", password_of("acct.forgiven")).status_code == 200
    codes = [token_request(stack, "acct.forgiven", "wrong-password-1").status_code for _ in range(4)]
    assert codes == [401] * 4


def test_an_unknown_username_gets_the_same_401_as_a_wrong_password(stack):
    unknown = token_request(stack, "acct.nobody", "whatever-password")
    wrong = token_request(stack, "admin", "whatever-password")
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json()) == (401, wrong.json())
