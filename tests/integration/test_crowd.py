"""A county's staff at once: hundreds of open live streams and concurrent ledger exports leave the API answering.

The live streams share one Redis reader per API process; each ends when its account is disabled or its token
expires; idle streams stay open. Ledger exports beyond LEDGER_CONCURRENCY get 429 with Retry-After, never 500.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.clients import create_user, login
from tests.streams import Streams
from tests.workflow_stack import poll, score, start_workflow_stack

pytestmark = pytest.mark.integration
TOWNSHIP = "532328121"


@pytest.fixture(scope="module")
def wf(kafka_bootstrap, tmp_path_factory):
    running = start_workflow_stack(kafka_bootstrap, tmp_path_factory.mktemp("crowd"), LEDGER_CONCURRENCY="3")
    yield running
    running.stop()


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds}s"
        time.sleep(0.2)


def test_with_two_hundred_and_fifty_streams_open_the_lists_answer_and_every_stream_gets_each_change(wf):
    api, worker = wf.stack.api_url, create_user(wf.stack, "crowd.worker", "township_worker", TOWNSHIP)
    streams = Streams(f"{api}/alerts/stream", worker, 250)
    try:
        wait_for(lambda: streams.opened == 250, 120, "250 streams open")
        time.sleep(7)  # idle for longer than the Redis client's 5 s socket timeout: the streams stay open
        for _ in range(20):
            answer = httpx.get(f"{api}/alerts", params={"limit": 50}, headers=worker, timeout=30)
            assert answer.status_code == 200
        wf.publish(score("HCR1", region_code=f"{TOWNSHIP}001"))
        wait_for(lambda: all(any(c["household_id"] == "HCR1" for c in got) for got in streams.received), 60, "fan-out")
        assert streams.ended == 0
    finally:
        streams.close()


def test_a_stream_ends_when_its_account_is_disabled_and_gets_no_change_made_after(wf):
    api = wf.stack.api_url
    worker = create_user(wf.stack, "crowd.leaver", "township_worker", TOWNSHIP)
    streams = Streams(f"{api}/alerts/stream", worker, 1)
    try:
        wait_for(lambda: streams.opened == 1, 30, "the stream open")
        disabled = httpx.post(f"{api}/users/crowd.leaver/disable", headers=login(wf.stack))
        assert disabled.status_code == 200
        wf.publish(score("HCR2", region_code=f"{TOWNSHIP}002"))
        poll(f"{api}/alerts", login(wf.stack), lambda b: b["items"], household_id="HCR2")
        wait_for(lambda: streams.ended == 1, 30, "the stream to end")
        assert streams.received == [[]]
    finally:
        streams.close()


def test_a_stream_ends_when_its_token_expires(wf):
    api = wf.stack.api_url
    create_user(wf.stack, "crowd.expiring", "township_worker", TOWNSHIP)
    now = datetime.now(UTC)
    claims = {"sub": "crowd.expiring", "gen": 0, "iat": now, "exp": now + timedelta(seconds=4), "typ": "access"}
    token = jwt.encode(claims, wf.stack.env["JWT_SECRET"], algorithm="HS256")
    streams = Streams(f"{api}/alerts/stream?access_token={token}", {}, 1)
    try:
        wait_for(lambda: streams.opened == 1, 30, "the stream open")
        wait_for(lambda: streams.ended == 1, 30, "the stream to end at the token's expiry")
    finally:
        streams.close()


def test_concurrent_ledger_exports_beyond_the_limit_get_429_with_retry_after_and_none_fails(wf):
    api, supervisor = wf.stack.api_url, create_user(wf.stack, "crowd.county", "county_supervisor", "532328")
    wf.publish(*(score(f"HCL{n:04d}", region_code=f"{TOWNSHIP}{n % 9 + 1:03d}") for n in range(1500)))
    poll(f"{api}/alerts", supervisor, lambda b: b["total"] >= 1500, 180, region_code=TOWNSHIP)

    def export(_: int) -> httpx.Response:
        params = {"township": TOWNSHIP, "lang": "en"}
        return httpx.get(f"{api}/ledger.csv", params=params, headers=supervisor, timeout=120)

    with ThreadPoolExecutor(30) as pool:
        exports = pool.map(export, range(30))
        lists = [httpx.get(f"{api}/alerts", params={"limit": 50}, headers=supervisor, timeout=30) for _ in range(10)]
        answers = list(exports)
    assert all(answer.status_code == 200 for answer in lists)
    assert {answer.status_code for answer in answers} == {200, 429}
    assert all(a.headers["retry-after"].isdigit() for a in answers if a.status_code == 429)
    for answer in answers:
        if answer.status_code == 200:
            assert len(answer.text.strip().splitlines()) >= 1 + 1500  # the header, then every alert
