"""What the standby tests and the failover bench share: what a worker holds and scored, where its recovery began."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

import httpx

from services.scoring.store import digest
from tests.clients import read_topic

Held = dict[int, dict[str, Any]]  # partition: role, households, offset, digest, applied (services.scoring.store)


def held(url: str) -> Held:
    """The households table's partitions a scoring worker holds (its /partitions page)."""
    found = httpx.get(f"{url}/partitions", timeout=30).json()["households"]
    return {int(partition): entry for partition, entry in found.items()}


def scored_events(url: str) -> float:
    """How many canonical events a scoring worker has scored (its /metrics)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(r'^shouwang_scoring_events_total\{outcome="scored"\} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def changelog_digests(bootstrap: str, app_id: str) -> dict[int, str]:
    """Each partition's digest of the latest state of every household on the households changelog."""
    latest: dict[int, dict[str, bytes]] = defaultdict(dict)
    for message in read_topic(bootstrap, f"{app_id}-households-changelog", idle_ms=1000):
        household = json.loads(message.key)
        if message.value is None:
            latest[message.partition].pop(household, None)
        else:
            latest[message.partition][household] = message.value
    return {partition: digest(states.items()) for partition, states in latest.items()}


def copies_agree(urls: list[str], expected: dict[int, str]) -> bool:
    """Every partition held by exactly one active and one standby, both with the changelog's digest."""
    roles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for url in urls:
        for partition, entry in held(url).items():
            if entry["role"] != "none":
                roles[partition].append((entry["role"], entry["digest"]))
    return set(roles) == set(expected) and all(
        sorted(role for role, _ in roles[p]) == ["active", "standby"] and {d for _, d in roles[p]} == {expected[p]}
        for p in expected
    )


_ROW = re.compile(r"[|│]\s*(\S+)\s*[|│]\s*(\d+)\s*[|│]\s*(-?\d+)\s*[|│]")  # faust's table, ASCII or not


def recovery_starts(log: str, changelog: str) -> list[dict[int, int]]:
    """Each active recovery's first offsets by partition of `changelog`, as faust logs them ("Reading Starts At")."""
    starts: list[dict[int, int]] = []
    topic = ""
    for line in log.splitlines():
        if "active offsets at start of reading" in line:
            starts.append({})
            topic = ""
        elif starts and (row := _ROW.search(line)):
            topic = topic if row.group(1) == "〃" else row.group(1)  # faust's ditto mark: the topic of the row above
            if topic == changelog:
                starts[-1][int(row.group(2))] = int(row.group(3))
    return starts
