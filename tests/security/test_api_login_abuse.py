"""Attacks on logging in: concurrent guesses, floods of unknown usernames, huge usernames.

Each test speaks for made-up client addresses (`X-Forwarded-For`, trusted from 127.0.0.1 as behind a proxy), so
that its failures count against those addresses and not against the address every other test logs in from."""

import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from tests.clients import create_user, password_of
from tests.infra import free_port, spawn, wait_until

pytestmark = pytest.mark.integration


def token(url: str, username: str, password: str, client: str) -> httpx.Response:
    """POST /auth/token as if from `client`."""
    form = {"username": username, "password": password}
    return httpx.post(f"{url}/auth/token", data=form, headers={"x-forwarded-for": client}, timeout=120)


def answers_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def strict_api(stack):
    """A second API process on the same Redis: 3 failures per address, one argon2 thread and one waiting place."""
    port = free_port()
    limits = {"LOGIN_MAX_FAILURES_PER_CLIENT": "3", "PASSWORD_HASH_THREADS": "1", "PASSWORD_HASH_QUEUE": "1"}
    env = {**stack.env, "API_PORT": str(port), **limits}
    process = spawn("api-strict", [sys.executable, "-m", "services.api"], env)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers_ready(url), 90, "the second API ready")
    yield url
    process.stop()


def test_forty_concurrent_wrong_passwords_get_no_more_checks_than_the_five_allowed(stack):
    create_user(stack, "flood.target", "township_worker", "532350101")
    with ThreadPoolExecutor(40) as pool:
        answers = list(
            pool.map(lambda n: token(stack.api_url, "flood.target", f"wrong-password-{n}", "10.40.0.1"), range(40))
        )
    checked = [a for a in answers if a.json()["detail"].startswith("wrong username or password")]
    assert len(checked) == 5
    assert sorted(a.status_code for a in answers) == [401] * 4 + [429] * 36
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)
    assert token(stack.api_url, "flood.target", password_of("flood.target"), "10.40.0.2").status_code == 429


def test_failed_logins_from_one_address_make_it_wait_while_other_addresses_still_log_in(stack, strict_api):
    create_user(stack, "client.victim", "township_worker", "532350101")
    for n in range(3):
        assert token(strict_api, f"nobody.{n}", "whatever-password", "10.41.0.1").status_code == 401
    blocked = token(strict_api, "client.victim", password_of("client.victim"), "10.41.0.1")
    assert blocked.status_code == 429 and "too many failed logins from your address" in blocked.json()["detail"]
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert token(strict_api, "client.victim", password_of("client.victim"), "10.41.0.2").status_code == 200


def test_a_flood_of_logins_beyond_the_argon2_line_is_turned_away_with_503_and_a_real_user_gets_in(stack, strict_api):
    create_user(stack, "flood.survivor", "township_worker", "532350101")
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda n: token(strict_api, f"ghost.{n}", "whatever-password", f"10.42.0.{n}"), range(20))
        )
    codes = Counter(answer.status_code for answer in answers)
    assert codes[503] >= 1 and set(codes) <= {401, 503}, codes
    assert all(a.headers["retry-after"] == "1" for a in answers if a.status_code == 503)
    assert token(strict_api, "flood.survivor", password_of("flood.survivor"), "10.42.1.1").status_code == 200


def test_an_overlong_username_or_password_gets_422_before_anything_is_counted_or_hashed(stack):
    huge_name = token(stack.api_url, "u" * 200, "whatever-password", "10.43.0.1")
    assert huge_name.status_code == 422 and huge_name.json()["detail"][0]["loc"] == ["body", "username"]
    huge_password = token(stack.api_url, "admin", "p" * 129, "10.43.0.1")
    assert huge_password.status_code == 422 and huge_password.json()["detail"][0]["loc"] == ["body", "password"]
    keys = redis.Redis.from_url(stack.redis_url, decode_responses=True).keys("login:*")
    assert not [key for key in keys if "uuuu" in key or "10.43.0.1" in key]
