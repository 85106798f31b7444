"""Event histories: from the simulator, a JSONL export, or Kafka's canonical topic; grouped per household."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from pydantic import ValidationError

from services.analytics.household_events import Event, cohort_events, cohort_outcomes
from services.analytics.labels import Outcome, write_outcomes
from services.analytics.simulator import Cohort, SimConfig, World, simulate_cohort
from services.common import topics
from services.common.events import DATA_MODELS, HouseholdEvent
from services.common.kafka import TopicToEnd
from services.common.spreadsheets import spreadsheet_writer
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
    """Events from a JSONL export (CloudEvents or canonical-topic messages, one per line); the first bad one raises."""
    events, _ = read_events(path, max_rejects=0)
    return iter(events)


@dataclass(frozen=True)
class Reject:
    """A record left out: where it is, whose it is, which field and why."""

    line: int
    household_id: str
    field: str
    reason: str


class TooManyRejects(ValueError):
    """More records were refused than the analyst allowed (`--max-rejects`); the message names the first."""


def _reject(number: int, doc: Any, exc: Exception) -> Reject:
    data = doc.get("data") if isinstance(doc, dict) else None
    household = str(data.get("household_id") or "") if isinstance(data, dict) else ""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        return Reject(number, household, where, first["msg"])
    if isinstance(exc, KeyError):
        return Reject(number, household, str(exc.args[0]), "missing or not a v1 value")
    return Reject(number, household, "(record)", str(exc))


def read_events(path: Path, max_rejects: int = 0) -> tuple[list[HouseholdEvent], list[Reject]]:
    """Events of a JSONL export; up to `max_rejects` invalid records are left out and listed, one more raises."""
    events: list[HouseholdEvent] = []
    rejects: list[Reject] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            doc: Any = None
            try:
                doc = json.loads(line)
                events.append(parse_event(doc))
            except (ValidationError, KeyError, ValueError, TypeError) as exc:
                rejects.append(_reject(number, doc, exc))
                if len(rejects) > max_rejects:
                    first = rejects[0]
                    raise TooManyRejects(
                        f"{path.name}: more than {max_rejects} invalid record(s) (--max-rejects); first: line "
                        f"{first.line}, household {first.household_id or '?'}, {first.field}: {first.reason}"
                    ) from exc
    return events, rejects


def write_rejects(path: Path, rejects: list[Reject]) -> None:
    """The rejects report: CSV of line, household_id, field, reason."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = spreadsheet_writer(handle)
        writer.writerow(("line", "household_id", "field", "reason"))
        writer.writerows((r.line, r.household_id, r.field, r.reason) for r in rejects)


def read_kafka(bootstrap: str, topic: str = topics.CANONICAL, timeout_s: float = 10) -> Iterator[HouseholdEvent]:
    """Every event on `topic`, from the beginning to the end offsets at the start (no group)."""
    return map(HouseholdEvent.from_json, TopicToEnd(bootstrap, topic, timeout_s))


def write_simulation(config: SimConfig, events_path: Path, labels_path: Path) -> dict[str, int]:
    """Simulate and write every event (JSONL, CloudEvents) and the labels (below/above the line every month end)."""
    counts = {"households": 0, "events": 0, "labels": 0}

    def outcomes() -> Iterator[Outcome]:
        with events_path.open("w", encoding="utf-8") as out:
            for block in blocks(config):
                cohort, histories = simulate_block(config, block)
                for i, (_, events) in enumerate(histories):
                    out.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
                    counts["households"] += 1
                    counts["events"] += len(events)
                    yield from cohort_outcomes(config, cohort, i)

    counts["labels"] = write_outcomes(labels_path, outcomes(), with_risk_type=True)
    return counts
