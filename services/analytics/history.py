"""Event histories: from the simulator, a JSONL export, or Kafka's canonical topic; grouped per household."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from services.analytics.household_events import Event, cohort_events, truth_record
from services.analytics.simulator import Cohort, SimConfig, World, simulate_cohort
from services.common import topics
from services.common.events import DATA_MODELS, HouseholdEvent
from services.scoring.facts import FACT_TYPES, Fact

BLOCK = 2000  # households simulated together
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def blocks(config: SimConfig) -> list[tuple[int, int, int]]:
    """(block number, first household, end) covering the configured households."""
    return [
        (b, start, min(start + BLOCK, config.households)) for b, start in enumerate(range(0, config.households, BLOCK))
    ]


def simulate_block(config: SimConfig, block: tuple[int, int, int]) -> tuple[Cohort, list[tuple[str, list[Event]]]]:
    """One block of households: the cohort (with its truth) and each household's events."""
    number, start, stop = block
    cohort = simulate_cohort(World(config), number, start, stop)
    return cohort, list(cohort_events(config, cohort, number))


def fast_event(doc: Event) -> Fact:
    """A simulator event as scoring applies it, without re-validation (simulator output is validated in tests)."""
    data = msgspec.convert(doc["data"], FACT_TYPES[doc["type"]])
    return Fact(f"{doc['source']}#{doc['id']}", doc["type"], datetime.fromisoformat(doc["time"]), data)


def parse_event(doc: dict[str, Any]) -> HouseholdEvent:
    """A canonical-topic message or a CloudEvent from an export, validated against the v1 data models."""
    if "accepted_at" in doc:
        return HouseholdEvent.from_json(json.dumps(doc))
    data = DATA_MODELS[doc["type"]].model_validate(doc["data"])
    time = datetime.fromisoformat(doc["time"])
    return HouseholdEvent(id=doc["id"], source=doc["source"], type=doc["type"], time=time, data=data, accepted_at=time)


def group(events: Iterable[HouseholdEvent]) -> dict[str, list[HouseholdEvent]]:
    """Events per household, each list sorted by event time (then source#id, as scoring breaks ties)."""
    grouped: dict[str, list[HouseholdEvent]] = defaultdict(list)
    for event in events:
        grouped[event.household_id].append(event)
    for items in grouped.values():
        items.sort(key=lambda e: (e.time, e.key))
    return dict(grouped)


def read_jsonl(path: Path) -> Iterator[HouseholdEvent]:
    """Events from a JSONL export (CloudEvents or canonical-topic messages, one per line)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield parse_event(json.loads(line))


def read_truth(path: Path) -> dict[str, dict[str, Any]]:
    """Ground truth per household from the simulator's truth JSONL."""
    with path.open(encoding="utf-8") as handle:
        return {doc["household_id"]: doc for doc in map(json.loads, handle) if doc}


def read_kafka(bootstrap: str, topic: str = topics.CANONICAL, timeout_s: float = 10) -> Iterator[HouseholdEvent]:
    """Every event on `topic`, from the beginning to the end offsets at the start (no group)."""
    return map(HouseholdEvent.from_json, read_topic(bootstrap, topic, timeout_s))


def read_topic(bootstrap: str, topic: str, timeout_s: float = 10) -> Iterator[bytes]:
    """Every message value in `topic`, from the beginning to the end offsets at the start (no group)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, auto_offset_reset="earliest"
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            raise ValueError(f"topic {topic} does not exist on {bootstrap}")
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = {tp: off for tp, off in consumer.end_offsets(partitions).items() if off > 0}
        while ends:
            batch = consumer.poll(timeout_ms=int(timeout_s * 1000))
            if not batch:
                raise TimeoutError(f"{topic}: no message for {timeout_s}s before the end offsets {ends}")
            for messages in batch.values():
                for message in messages:
                    yield message.value
            ends = {tp: end for tp, end in ends.items() if consumer.position(tp) < end}
    finally:
        consumer.close()


def write_simulation(config: SimConfig, events_path: Path, truth_path: Path) -> dict[str, int]:
    """Simulate and write every event (JSONL, CloudEvents) and the ground truth (JSONL per household)."""
    counts = {"households": 0, "events": 0}
    with events_path.open("w", encoding="utf-8") as out, truth_path.open("w", encoding="utf-8") as truth:
        for block in blocks(config):
            cohort, histories = simulate_block(config, block)
            for i, (_, events) in enumerate(histories):
                out.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
                truth.write(json.dumps(truth_record(config, cohort, i)) + "\n")
                counts["households"] += 1
                counts["events"] += len(events)
    return counts
