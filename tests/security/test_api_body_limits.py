"""Attacks on the API's request bodies: huge bodies, echoed input, and numbers JSON does not have."""

import socket
from urllib.parse import urlsplit

import httpx
import pytest

from tests.clients import create_user, login

pytestmark = pytest.mark.integration
SECRET_PASSWORD = "correct-horse-battery-staple-" * 6  # 174 characters: over the 128 allowed


def raw_exchange(stack, head: bytes, body_parts: list[bytes]) -> bytes:
    """Send a request head and some body parts on a plain socket, then read what the API answers (up to 60 s)."""
    url = urlsplit(stack.api_url)
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head)
        for part in body_parts:
            try:
                sock.sendall(part)
            except OSError:  # the API may answer and close before it read everything
                break
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        return answer


def test_a_declared_100_mb_body_is_refused_with_413_before_it_is_read(stack):
    head = (
        b"POST /auth/refresh HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    answer = raw_exchange(stack, head, [b'{"refresh_token": "' + b"a" * 65536])  # and never the rest
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_chunked_body_is_refused_with_413_as_soon_as_it_passes_the_limit(stack):
    head = (
        b"POST /auth/refresh HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 8192
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 4  # 32 KB, then the body never ends
    assert raw_exchange(stack, head, parts).startswith(b"HTTP/1.1 413 ")


def test_a_one_megabyte_body_to_any_route_gets_413_and_not_its_echo(stack):
    body = {"username": "big.body", "password": "p" * 1_000_000, "role": "analyst", "region_code": "53"}
    response = httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack), timeout=60)
    assert response.status_code == 413
    assert len(response.content) < 1000


def test_a_validation_error_names_the_field_but_never_echoes_the_input(stack):
    body = {"username": "echo.test", "password": SECRET_PASSWORD, "role": "analyst", "region_code": "53"}
    response = httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack), timeout=30)
    assert response.status_code == 422
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [
        (["body", "password"], "String should have at most 128 characters")
    ]
    assert "correct-horse" not in response.text
    token = httpx.post(f"{stack.api_url}/auth/refresh", json={"refresh_token": "t0ken" * 400}, timeout=30)
    assert token.status_code == 422 and "t0ken" not in token.text
    form = httpx.post(f"{stack.api_url}/auth/token", data={"username": "u", "password": SECRET_PASSWORD}, timeout=30)
    assert form.status_code == 422 and "correct-horse" not in form.text


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_numbers_json_does_not_have_get_422_even_unauthenticated_never_500(stack, number):
    body = b'{"refresh_token": ' + number + b"}"
    response = httpx.post(
        f"{stack.api_url}/auth/refresh", content=body, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.fixture(scope="module")
def worker(stack):
    return create_user(stack, "money.worker", "township_worker", "532350101")


@pytest.mark.parametrize(
    ("amount", "why"),
    [
        (b"Infinity", "JSON decode error"),
        (b"1e300", "must be ≤ 1000000000000 yuan"),
        (b"1e13", "must be ≤ 1000000000000 yuan"),
        (b"-5", "must be ≥ 0"),
        (b"12.345", "must have at most 2 decimals"),
        (b'"1500"', "must be a JSON number (yuan)"),
    ],
)
def test_a_measure_amount_follows_the_money_rules_of_events(stack, worker, amount, why):
    body = b'{"type": "employment", "amount": ' + amount + b', "date": "2025-02-01", "expected_version": 1}'
    response = httpx.post(
        f"{stack.api_url}/alerts/any-alert/measures",
        content=body,
        headers={**worker, "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert why in error["msg"]
    assert error["loc"][:2] == ["body", "amount"] or error["type"] == "json_invalid"
