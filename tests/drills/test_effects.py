"""Fault drills on the effects staff and departments see: webhooks through a Redis restart, live streams through
an API restart. Same load and checks as test_faults.py, then what reached the receivers and the consoles."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.clients import create_user, login
from tests.drills.test_faults import CATCH_UP, drill
from tests.infra import Server, Stack, free_port
from tests.integration.test_workflow_notifications import SECRET, Receiver
from tests.streams import Streams

pytestmark = pytest.mark.drills
TOWNSHIP = "532328101"  # where the drill county lives (tests.recovery.county, tests.factories.registration)
STREAMS = 200


def households_with_alerts(stack: Stack, prefix: str) -> set[str]:
    page = httpx.get(
        f"{stack.api_url}/alerts", params={"region_code": TOWNSHIP, "limit": 500}, headers=login(stack), timeout=30
    ).json()
    return {alert["household_id"] for alert in page["items"] if alert["household_id"].startswith(prefix)}


def raised(changes: list[dict], prefix: str) -> set[str]:
    """The households of the raised (or reopened) alerts among the changes."""
    kinds = ("raised", "reopened")
    return {c["household_id"] for c in changes if c["kind"] in kinds and c["household_id"].startswith(prefix)}


def wait_until_seen(expected: set[str], seen: Callable[[], set[str]], seconds: float) -> set[str]:
    deadline = time.monotonic() + seconds
    while (found := seen()) < expected and time.monotonic() < deadline:
        time.sleep(1)
    return expected - found


def test_redis_restarted_during_webhook_deliveries_loses_none(stack, redis_server: Server, record_property):
    receiver = Receiver(free_port())
    url = f"http://127.0.0.1:{receiver.server.server_port}/hook"
    subscribed = httpx.post(
        f"{stack.api_url}/subscriptions",
        json={"region_prefix": TOWNSHIP, "url": url, "secret": SECRET},
        headers=login(stack),
    )
    assert subscribed.status_code == 201
    try:
        drill(stack, record_property, "HDW", redis_server.stop, redis_server.start)
        expected = households_with_alerts(stack, "HDW")
        missing = wait_until_seen(expected, lambda: raised(receiver.changes(), "HDW"), CATCH_UP)
        assert expected and missing == set(), f"{len(missing)} alerts never delivered"
        by_id: dict[str, bytes] = {}
        for headers, content in receiver.received:  # a repeat carries the same id and the same body
            assert by_id.setdefault(headers["webhook-id"], content) == content
    finally:
        httpx.delete(f"{stack.api_url}/subscriptions/{subscribed.json()['id']}", headers=login(stack))
        receiver.close()


def test_the_api_restarted_with_two_hundred_streams_open_resumes_every_stream(stack, record_property):
    supervisor = create_user(stack, f"drill.county{int(time.time())}", "county_supervisor", "532328")
    streams = Streams(f"{stack.api_url}/alerts/stream", supervisor, STREAMS, resume=True)
    try:
        deadline = time.monotonic() + 120
        while streams.opened < STREAMS:
            assert time.monotonic() < deadline, f"only {streams.opened} of {STREAMS} streams opened"
            time.sleep(0.5)
        drill(stack, record_property, "HDV", lambda: stack.processes["api"].stop(), lambda: stack.start("api"))
        expected = households_with_alerts(stack, "HDV")
        for n, got in enumerate(streams.received):
            missing = wait_until_seen(expected, lambda got=got: raised(got, "HDV"), CATCH_UP)
            assert missing == set(), f"stream {n} never got {len(missing)} alerts"
        assert streams.opened > STREAMS  # every stream came back after the restart
    finally:
        streams.close()
