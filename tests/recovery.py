"""What the crash-recovery tests and the fault drills share: a county's events, the clean result, the comparison."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from services.common import topics
from services.common.policy import PolicyBook
from services.common.score_records import ScoreRecord
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.model import RiskModel
from services.scoring.scorer import score_event
from services.scoring.state import HouseholdState
from tests.clients import login, read_topic
from tests.factories import income, registration, resident_id
from tests.infra import Stack

Figures = dict[str, tuple[str, float]]


def head_of(n: int) -> str:
    """The resident ID of the head of a county's household number `n` (below 1,000)."""
    return resident_id(f"53232819800101{n:03d}")


def county(prefix: str, households: int, people: bool = False) -> list[dict[str, Any]]:
    """Registrations (with `people`, each names its head: head_of) then a year of monthly incomes, some households
    falling below the line."""
    events = []
    for n in range(households):
        hid = f"{prefix}{n:03d}"
        heads = {"head_id": head_of(n), "member_ids": [head_of(n)]} if people else {}
        events.append(registration(hid, 40000 + 1000 * n, members=4, **heads))
        for month in range(1, 13):
            amount = 200 if (n % 3 == 0 and month > 6) else 3500 + n
            events.append(income(hid, f"2024-{month:02d}", amount))
    return events


def _clean_pass(
    events: list[dict[str, Any]], model: RiskModel | None = None
) -> Iterator[tuple[str, HouseholdState, ScoreRecord | None]]:
    """Each event's household, its state and score, scored in order by one worker that never stops."""
    policies = PolicyBook.load(REPO_ROOT / "policy")
    states: dict[str, HouseholdState] = {}
    for raw in events:
        event = validate_event(raw, b"k")
        before = states.get(event.household_id, HouseholdState())
        state, score = score_event(before, event, policies, datetime.now(UTC), model)
        states[event.household_id] = state
        yield event.household_id, state, score


def uninterrupted_figures(events: list[dict[str, Any]], model: RiskModel | None = None) -> Figures:
    """What one clean pass over the events gives (with `model` active): (level, 12-month income) per household."""
    return {hid: (score.level, score.figures.income_12m) for hid, _, score in _clean_pass(events, model) if score}


def settled(state: HouseholdState) -> HouseholdState:
    """The state without the ids of events applied since the last score: which those are depends on batch bounds.

    One event at a time, a registration scores at once and a later no-change report waits; in one batch with
    both, the registration's score names both. Everything the household's figures come from is compared.
    """
    return msgspec.structs.replace(state, unscored_events=[])


def uninterrupted_states(events: list[dict[str, Any]]) -> dict[str, HouseholdState]:
    """Each household's (settled) state after one clean pass over the events, its last score's fingerprint included."""
    return {hid: settled(state) for hid, state, _ in _clean_pass(events)}


def _figures_now(stack: Stack, households: list[str]) -> Figures:
    headers, seen = login(stack), {}
    for hid in households:
        response = httpx.get(f"{stack.api_url}/households/{hid}", headers=headers, timeout=10)
        if response.status_code == 200:
            body = response.json()
            seen[hid] = (body["level"], body["figures"]["income_12m"])
    return seen


def wait_for_figures(stack: Stack, expected: Figures, seconds: float = 180) -> Figures:
    """Poll the API until every household shows its expected figures (or time is up); returns what it saw."""
    deadline, seen = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # the API or its Redis may be on its way back
            seen = _figures_now(stack, list(expected))
        if seen == expected:
            return seen
        time.sleep(1)
    return seen


def alert_problems(stack: Stack, expected: Figures) -> list[str]:
    """Households whose alerts are not exactly one per household at risk, or repeat a score."""
    headers, problems = login(stack), []
    for hid, (level, _) in expected.items():
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": hid}, headers=headers, timeout=10).json()
        if page["total"] != (0 if level == "green" else 1):
            problems.append(f"{hid}: {page['total']} alerts at level {level}")
        for alert in page["items"]:
            if len(alert["score_ids"]) != len(set(alert["score_ids"])):
                problems.append(f"{hid}: alert {alert['id']} applied a score twice")
    return problems


def missing_from_canonical(stack: Stack, events: list[dict[str, Any]]) -> set[str]:
    """Ids of `events` that are not on the canonical topic (accepted events must all be there)."""
    published = {json.loads(message.value)["id"] for message in read_topic(stack.bootstrap, topics.CANONICAL)}
    return {event["id"] for event in events} - published
