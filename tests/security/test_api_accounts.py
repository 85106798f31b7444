"""Accounts under attack on the real stack: replayed refresh tokens, weak passwords, and rotating every password,
the national admin's included."""

import os
import subprocess
import sys

import httpx
import pytest
import redis

from tests.clients import create_user, login, password_of
from tests.infra import ROOT

pytestmark = pytest.mark.integration


def tokens(stack, username: str, password: str) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/auth/token", data={"username": username, "password": password}, timeout=30)


def refresh(stack, token: str) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": token}, timeout=30)


def test_replaying_a_used_refresh_token_ends_every_token_of_its_chain(stack):
    create_user(stack, "sec.family", "township_worker", "532328101")
    first = tokens(stack, "sec.family", password_of("sec.family")).json()["refresh_token"]
    second = refresh(stack, first).json()["refresh_token"]
    third = refresh(stack, second).json()["refresh_token"]  # the thief's copy of `second` is now used
    assert refresh(stack, second).status_code == 401
    assert refresh(stack, third).status_code == 401  # the chain it started is dead
    other = tokens(stack, "sec.family", password_of("sec.family")).json()["refresh_token"]
    assert refresh(stack, other).status_code == 200  # another login's chain is not touched


@pytest.fixture(scope="module")
def reset_target(stack) -> str:
    create_user(stack, "sec.weak2", "township_worker", "532328101")
    return "sec.weak2"


def users_post(stack, body: dict) -> httpx.Response:
    return httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack), timeout=30)


@pytest.mark.parametrize(
    "password,why",
    [
        ("1234567890", "at least 12"),
        ("123456789012", "too easy to guess"),
        ("passwordpassword", "too easy to guess"),
        ("password1234", "common password"),
        ("sec.weak-is-my-name", "contains the username"),
    ],
)
def test_a_weak_password_is_refused_naming_the_field_and_why(stack, reset_target, password, why):
    body = {"username": "sec.weak", "password": password, "role": "township_worker", "region_code": "532328101"}
    response = users_post(stack, body)
    assert response.status_code == 422 and why in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "password"]
    weak = {"password": password.replace("sec.weak", reset_target)}
    reset = httpx.post(f"{stack.api_url}/users/{reset_target}/reset-password", json=weak, headers=login(stack))
    assert reset.status_code == 422


def change(stack, headers: dict, old: str, new: str) -> httpx.Response:
    body = {"old_password": old, "new_password": new}
    return httpx.post(f"{stack.api_url}/users/me/password", json=body, headers=headers, timeout=30)


def test_every_account_changes_its_own_password_with_the_old_one(stack):
    worker = create_user(stack, "sec.changer", "township_worker", "532328101")
    assert change(stack, worker, "not-my-password", "a-fresh-passphrase-9").status_code == 403
    assert change(stack, worker, password_of("sec.changer"), "12345678901234").status_code == 422
    changed = change(stack, worker, password_of("sec.changer"), "a-fresh-passphrase-9")
    assert changed.status_code == 200, changed.text
    assert httpx.get(f"{stack.api_url}/users/me", headers=worker).status_code == 401  # the old session ended
    fresh = {"authorization": f"Bearer {changed.json()['access_token']}"}
    assert httpx.get(f"{stack.api_url}/users/me", headers=fresh).json()["username"] == "sec.changer"
    assert tokens(stack, "sec.changer", password_of("sec.changer")).status_code == 401
    assert tokens(stack, "sec.changer", "a-fresh-passphrase-9").status_code == 200


def rotate(stack, username: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.api.cli", "rotate-password", username]
    env = {**os.environ, **stack.env}
    if password is None:
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    return subprocess.run([*command, "--password-stdin"], cwd=ROOT, env=env, input=password + "\n",
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def test_the_national_admin_changes_its_password_and_the_server_command_rotates_it_audited(stack):
    admin = login(stack)
    changed = change(stack, admin, stack.admin_password, "national-new-passphrase-7")
    try:
        assert changed.status_code == 200, changed.text
        assert tokens(stack, "admin", stack.admin_password).status_code == 401
        done = rotate(stack, "admin")
        assert done.returncode == 0, done.stderr
        generated = done.stdout.rsplit(" ", 1)[1].strip()
        assert tokens(stack, "admin", generated).status_code == 200
        assert tokens(stack, "admin", "national-new-passphrase-7").status_code == 401
        assert rotate(stack, "admin", "1234567890").returncode == 2  # the policy holds on the server too
    finally:
        assert rotate(stack, "admin", stack.admin_password).returncode == 0
    entries = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrevrange("audit:log", count=200)
    actions = [(fields["user"], fields["action"], fields["target"]) for _, fields in entries]
    assert ("admin", "user.password_changed", "user:admin") in actions
    assert any(user.startswith("cli:") and action == "user.password_rotated" for user, action, _ in actions)


def test_a_new_admin_password_in_the_environment_replaces_the_stored_one_at_start_and_says_which_login_works(stack):
    offset = stack.log_size("api")
    stack.processes["api"].stop()
    stack.start("api", ADMIN_PASSWORD="another-bootstrap-passphrase", ADMIN_LOGIN_HINT="1")
    try:
        stack.wait_for_log("api", "Login: admin / another-bootstrap-passphrase", offset, 30)
        assert tokens(stack, "admin", "another-bootstrap-passphrase").status_code == 200
        assert tokens(stack, "admin", stack.admin_password).status_code == 401
    finally:
        stack.processes["api"].stop()
        stack.start("api")
    assert tokens(stack, "admin", stack.admin_password).status_code == 200
