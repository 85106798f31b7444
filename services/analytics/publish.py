"""Send a simulated history where departments would: ingest over HTTP (batch mode) or Kafka `events.inbound`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
from rich.console import Console
from rich.progress import track
from tenacity import retry, stop_after_delay, wait_fixed

from services.analytics.history import blocks, simulate_block
from services.analytics.household_events import Event
from services.analytics.simulator import SimConfig
from services.common import topics

BATCH_SIZE = 500


def simulated_events(config: SimConfig, households: int | None = None) -> Iterator[Event]:
    """Every simulated event, household by household (the first `households` only, when given)."""
    sent = 0
    for block in blocks(config):
        for _, events in simulate_block(config, block)[1]:
            if households is not None and sent >= households:
                return
            sent += 1
            yield from events


def _shown(events: Iterator[Event], progress: bool) -> Iterable[Event]:
    """The events, counted on standard error as they go when `progress` (standard output stays the result's)."""
    return track(events, "events sent", disable=not progress, console=Console(stderr=True))


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def _post(client: httpx.Client, batch: list[Event]) -> dict[str, Any]:
    response = client.post("/events", json=batch, headers={"content-type": "application/cloudevents-batch+json"})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def to_ingest(config: SimConfig, url: str, key: str, progress: bool = False) -> dict[str, int]:
    """POST every event in batches; returns the totals of accepted, duplicate and rejected events."""
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=60) as client:
        batch: list[Event] = []
        for event in _shown(simulated_events(config), progress):
            batch.append(event)
            if len(batch) == BATCH_SIZE:
                result, batch = _post(client, batch), []
                totals = {k: totals[k] + result[k] for k in totals}
        if batch:
            result = _post(client, batch)
            totals = {k: totals[k] + result[k] for k in totals}
    return totals


def to_kafka(config: SimConfig, bootstrap: str, progress: bool = False) -> dict[str, int]:
    """Produce every event to `events.inbound` (structured mode, keyed by household)."""
    from kafka import KafkaProducer

    from services.common.kafka_auth import client_options

    # an upstream principal's (KAFKA_USERNAME, KAFKA_PASSWORD): only those may write events.inbound
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, **client_options())
    sent = 0
    headers = [("content-type", b"application/cloudevents+json")]
    for event in _shown(simulated_events(config), progress):
        key = event["data"]["household_id"].encode()
        producer.send(topics.INBOUND, json.dumps(event, ensure_ascii=False).encode(), key=key, headers=headers)
        sent += 1
    producer.flush(60)
    producer.close()
    return {"produced": sent}
