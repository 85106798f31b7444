"""Small clients the integration tests use to talk to the running services, Kafka and Redis."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
from kafka import KafkaConsumer

from services.common.kafka import TopicToEnd
from services.common.kafka_auth import client_options
from tests.infra import Stack

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}


def post_event(
    stack: Stack, event: Any, key: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST one structured-mode event (or any JSON body) to ingest."""
    return httpx.post(
        f"{stack.ingest_url}/events",
        content=event if isinstance(event, bytes) else json.dumps(event).encode(),
        headers={"authorization": f"Bearer {key or stack.ingest_key}", **STRUCTURED, **(headers or {})},
        timeout=30,
    )


def post_batch(stack: Stack, events: list[Any], key: str | None = None) -> httpx.Response:
    """POST a batch-mode request to ingest."""
    return httpx.post(
        f"{stack.ingest_url}/events",
        content=json.dumps(events).encode(),
        headers={"authorization": f"Bearer {key or stack.ingest_key}", **BATCH},
        timeout=60,
    )


def login(stack: Stack, username: str = "admin", password: str | None = None) -> dict[str, str]:
    """Authorization headers for a user of the API."""
    response = httpx.post(
        f"{stack.api_url}/auth/token", data={"username": username, "password": password or stack.admin_password}
    )
    response.raise_for_status()
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def password_of(username: str) -> str:
    """The password tests give an account: meets the policy (long, not common, not the username)."""
    return "sw-" + hashlib.sha256(username.encode()).hexdigest()[:20]


def create_user(stack: Stack, username: str, role: str, region_code: str) -> dict[str, str]:
    """Create a user as admin and return their authorization headers."""
    password = password_of(username)
    body = {"username": username, "password": password, "role": role, "region_code": region_code}
    httpx.post(f"{stack.api_url}/users", json=body, headers=login(stack)).raise_for_status()
    return login(stack, username, password)


def wait_for_alert(stack: Stack, household_id: str, headers: dict[str, str], seconds: float = 60) -> dict[str, Any]:
    """Poll GET /alerts?household_id= until an alert appears; returns it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": household_id}, headers=headers).json()
        if page["items"]:
            item: dict[str, Any] = page["items"][0]
            return item
        time.sleep(0.1)
    raise TimeoutError(f"no alert for {household_id} within {seconds}s")


def read_topic(bootstrap: str, topic: str, idle_ms: int = 1500) -> list[Any]:
    """Every record currently in `topic` (all partitions, from the beginning to the end offsets read first; none
    when the topic does not exist yet); `TopicUnreadable` when a partition stops short of its end for `idle_ms`."""
    return list(TopicToEnd(bootstrap, topic, timeout_s=idle_ms / 1000, missing_ok=True).records())


def all_topics(bootstrap: str) -> list[str]:
    """Names of every topic on the broker, internal ones included."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **client_options())
    try:
        return sorted(consumer.topics())
    finally:
        consumer.close()
