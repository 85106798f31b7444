"""HTTP, Redis and Kafka-admin clients of the running stack, as the bench uses them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import CoordinatorLoadInProgressError, CoordinatorNotAvailableError, NotCoordinatorError
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from services.common.kafka_auth import client_options
from tests.infra import Stack

STRUCTURED = {"content-type": "application/cloudevents+json"}
BATCH = {"content-type": "application/cloudevents-batch+json"}
ALERT_INDEX = "alerts:by_created"  # services.alerts.store: one member per alert
# The group coordinator comes up with the broker's offsets topic, on first use (then loads it): wait for it.
_coordinator_retry = retry(
    retry=retry_if_exception_type((CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError)),
    stop=stop_after_delay(60),
    wait=wait_fixed(0.5),
    reraise=True,
)


def ingest_client(stack: Stack, connections: int) -> httpx.AsyncClient:
    """An async client of ingest, authorised with the stack's key, `connections` kept open."""
    return httpx.AsyncClient(
        base_url=stack.ingest_url,
        headers={"authorization": f"Bearer {stack.ingest_key}"},
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=120,
    )


async def api_client(stack: Stack, connections: int) -> httpx.AsyncClient:
    """An async client of the API, logged in as admin (jurisdiction: everything)."""
    client = httpx.AsyncClient(
        base_url=stack.api_url,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=300,
    )
    form = {"username": "admin", "password": stack.admin_password}
    response = await client.post("/auth/token", data=form)
    response.raise_for_status()
    client.headers["authorization"] = f"Bearer {response.json()['access_token']}"
    return client


async def post_batch(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    """POST a batch to ingest; returns the 207 body (with accepted, duplicate and rejected counts)."""
    response = await client.post("/events", content=json.dumps(events).encode(), headers=BATCH)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def ingest_outcomes(client: httpx.AsyncClient, route: str) -> dict[str, float]:
    """shouwang_ingest_events_total for one route, by outcome, from ingest's /metrics."""
    text = (await client.get("/metrics")).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "shouwang_ingest_events_total" and sample.labels.get("route") == route:
                counts[sample.labels["outcome"]] = sample.value
    return counts


def redis_client(stack: Stack) -> Redis:
    """Async Redis of the stack (the bench reads only counts from it)."""
    return Redis.from_url(stack.redis_url, decode_responses=True)


async def alert_count(redis: Redis) -> int:
    """Alerts stored so far (members of the alerts service's creation index)."""
    return int(await redis.zcard(ALERT_INDEX))


async def redis_used_bytes(redis: Redis) -> int:
    """Bytes Redis holds now (`used_memory`)."""
    return int((await redis.info("memory"))["used_memory"])


async def aof_rewrites(redis: Redis) -> int:
    """How many times Redis has rewritten its append-only file since it started."""
    return int((await redis.info("persistence"))["aof_rewrites"])


# What a county's push leaves in Redis: the alerts projection and ingest's duplicate claims and household regions
PUSH_KEYS = ("alerts:*", "ingest:seen:*", "ingest:household:*", "ingest:household-regions")


async def forget_pushes(redis: Redis, seconds: float = 600) -> int:
    """Delete what earlier pushes left in Redis and rewrite its append-only file (waiting until written), so that the
    next push meets the Redis the first one met; returns the keys deleted."""
    deleted = 0
    for pattern in PUSH_KEYS:
        batch = [key async for key in redis.scan_iter(match=pattern, count=5000)]
        for start in range(0, len(batch), 5000):
            deleted += await redis.delete(*batch[start : start + 5000])
    deadline = time.monotonic() + seconds
    await _aof_idle(redis, deadline)  # one Redis started itself (the AOF doubled) would refuse another
    await redis.bgrewriteaof()
    await _aof_idle(redis, deadline)
    return deleted


async def _aof_idle(redis: Redis, deadline: float) -> None:
    """Wait until Redis is rewriting its append-only file no more (nor about to)."""
    while True:
        found = await redis.info("persistence")
        if not found["aof_rewrite_in_progress"] and not found["aof_rewrite_scheduled"]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("Redis did not finish rewriting its append-only file in time")
        await asyncio.sleep(0.5)


def admin(stack: Stack) -> KafkaAdminClient:
    """Kafka admin client of the stack's broker."""
    return KafkaAdminClient(bootstrap_servers=stack.bootstrap, **client_options(), client_id="shouwang-bench")


def partitions(client: KafkaAdminClient, topic: str) -> list[TopicPartition]:
    """Every partition of a topic."""
    (described,) = client.describe_topics([topic])
    return [TopicPartition(topic, p["partition_index"]) for p in described["partitions"]]


def end_offsets(client: KafkaAdminClient, topic: str) -> dict[TopicPartition, int]:
    """The next offset to be written in each partition of `topic`."""
    specs = {tp: OffsetSpec.LATEST for tp in partitions(client, topic)}
    return {tp: found.offset for tp, found in client.list_partition_offsets(specs).items()}


@_coordinator_retry
def committed(client: KafkaAdminClient, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's committed offsets (-1 where none)."""
    found = client.list_group_offsets({group: tps}).get(group, {})
    return {tp: (found[tp].offset if tp in found and found[tp] is not None else -1) for tp in tps}


@_coordinator_retry
def position_group(client: KafkaAdminClient, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` for a consumer group with no members, so its first consumer starts there."""
    errors = client.reset_group_offsets(group, dict(offsets))
    failed = {tp: result for tp, result in errors.items() if getattr(result["error"], "errno", 0)}
    if failed:
        raise RuntimeError(f"could not position group {group}: {failed}")


@_coordinator_retry
def group_assignment(client: KafkaAdminClient, group: str, topic: str) -> tuple[str, dict[str, list[int]]]:
    """The group's state (e.g. Stable) and, per member id, the partitions of `topic` it holds."""
    described = client.describe_groups([group])[group]
    members: dict[str, list[int]] = {}
    for member in described["members"]:
        held = member["member_assignment"]  # decoded once assigned; empty bytes while rebalancing
        assigned = held.get("assigned_partitions", []) if isinstance(held, dict) else []
        members[member["member_id"]] = sorted(p for a in assigned if a["topic"] == topic for p in a["partitions"])
    return str(described["group_state"]), members
