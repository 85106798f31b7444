"""The scoring worker (faust): canonical events in, household state in a changelog table, scores out."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import faust

from services.common import topics
from services.common.events import HouseholdEvent
from services.common.policy import PolicyBook, PolicyError
from services.common.settings import ScoringSettings
from services.scoring import faust_consumer
from services.scoring.activations import ActiveModel
from services.scoring.discovery import PersonRecords, apply_person_event, discovery_score
from services.scoring.model import ModelRegistry
from services.scoring.service import score_event, shadow_score
from services.scoring.state import decode_state, encode_state

log = logging.getLogger(__name__)
settings = ScoringSettings()
try:
    policies = PolicyBook.load(settings.policy_dir)
except PolicyError as exc:
    raise SystemExit(f"scoring refuses to start: bad policy: {exc}") from exc

faust_consumer.install()  # before the app makes its consumer: faust's loses events in a rebalance
app = faust.App(
    settings.scoring_app_id,
    broker=f"kafka://{settings.kafka_bootstrap_servers}",
    store="memory://",
    datadir=str(settings.scoring_data_dir),
    topic_partitions=settings.kafka_partitions,
    web_enabled=False,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    broker_session_timeout=10.0,  # a crashed worker's partitions move on within seconds, not a minute
    broker_heartbeat_interval=2.0,
)
canonical_events = app.topic(topics.CANONICAL, key_serializer="raw", value_serializer="raw", internal=False)
dead_letters = app.topic(topics.DEADLETTER, key_serializer="raw", value_serializer="raw", internal=False)
scores = app.topic(topics.SCORES, key_serializer="raw", value_serializer="raw", internal=False)
shadow_scores = app.topic(topics.SHADOW_SCORES, key_serializer="raw", value_serializer="raw", internal=False)
active_model = ActiveModel(ModelRegistry(settings.model_dir))
households = app.Table("households", partitions=settings.kafka_partitions, key_type=str, value_type=bytes)
unmatched_events = app.topic(topics.PERSONS_UNMATCHED, key_serializer="raw", value_serializer="raw", internal=False)
unmatched_people = app.Table("unmatched_people", partitions=settings.kafka_partitions, key_type=str)


@app.agent(canonical_events)
async def score_households(stream: Any) -> None:
    """Apply each household event to its state and emit a score when the assessment changes."""
    async for raw in stream:
        try:
            event = HouseholdEvent.from_json(raw)
        except ValueError as exc:
            log.error("canonical message does not parse; moved to the dead-letter topic")
            reason = {"origin": "scoring", "errors": [{"field": "(message)", "reason": str(exc)[:500]}]}
            await dead_letters.send(value=json.dumps({**reason, "message": raw.decode("utf-8", "replace")}).encode())
            continue
        key = event.household_id
        state = decode_state(households.get(key))
        new_state, score = score_event(state, event, policies, datetime.now(UTC), active_model.current)
        if new_state is not state:
            households[key] = encode_state(new_state)
        if score is None:
            continue
        await scores.send(key=key.encode(), value=score.to_json())
        candidate = active_model.shadow
        shadow = shadow_score(new_state, event, score, policies, candidate) if candidate else None
        if shadow is not None:
            await shadow_scores.send(key=key.encode(), value=shadow.model_dump_json().encode())


@app.agent(unmatched_events)
async def discover_unregistered_households(stream: Any) -> None:
    """Keep each unmatched person's bills; raise a discovery score once their costs cross the trigger."""
    async for raw in stream:
        event = HouseholdEvent.from_json(raw)
        if event.person is None:
            continue
        stored = unmatched_people.get(event.person)
        records = PersonRecords.model_validate(stored) if stored else PersonRecords()
        updated = apply_person_event(records, event)
        score = discovery_score(updated, event.person, policies, datetime.now(UTC))
        if score is not None:
            updated = updated.model_copy(update={"scored": True})
            await scores.send(key=score.household_id.encode(), value=score.to_json())
        if updated is not records:
            unmatched_people[event.person] = updated.model_dump(mode="json")


@app.task
async def follow_model_activations() -> None:
    """Keep the active model current (loaded at start, swapped on activation)."""
    await active_model.follow(settings.kafka_bootstrap_servers)
