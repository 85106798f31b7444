"""The scoring worker (faust): canonical events in, household state in a changelog table, scores out."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.types import TableT

from services.common import topics
from services.common.events import HouseholdEvent
from services.common.kafka import Outgoing, send_batches
from services.common.kafka_auth import client_options, faust_credentials
from services.common.policy import PolicyBook, PolicyError
from services.common.probes import Page, serve_probes
from services.common.settings import ScoringSettings
from services.scoring import faust_adapter, store
from services.scoring.activations import ActiveModel
from services.scoring.batch import BatchScorer, Message
from services.scoring.discovery import PersonRecords, apply_person_event, discovery_score
from services.scoring.model import ModelRegistry
from services.scoring.preload import ChangelogReader

log = logging.getLogger(__name__)
# A standby applies each changelog record as it comes (faust's default holds 1,000 back): its copy is the active's.
STANDBY_BUFFER = 1
RETRY_SECONDS = (0.5, 1, 2, 5, 10)  # waits between attempts of a batch whose effects could not be sent


@dataclass
class ScoringApp:
    """A scoring worker's faust app, its tables and its active model, as `create_app` made them."""

    app: faust.App
    households: TableT
    unmatched_people: TableT
    active_model: ActiveModel


def create_app(settings: ScoringSettings) -> ScoringApp:
    """The scoring worker from its settings: policy loaded, tables, the batch scorer, the discovery agent and tasks."""
    try:
        policies = PolicyBook.load(settings.policy_dir)
    except PolicyError as exc:
        raise SystemExit(f"scoring refuses to start: bad policy: {exc}") from exc
    app = _faust_app(settings)
    # a table partition held cold is read whole in bulk before faust's recovery (SCORING_BULK_RECOVERY)
    bulk = (
        ChangelogReader(settings.kafka_bootstrap_servers, client_options(settings))
        if settings.scoring_bulk_recovery
        else None
    )
    canonical_events = app.topic(topics.CANONICAL, key_serializer="raw", value_serializer="raw", internal=False)
    scores = app.topic(topics.SCORES, key_serializer="raw", value_serializer="raw", internal=False)
    active_model = ActiveModel(ModelRegistry(settings.model_dir))
    households = faust_adapter.warm_table(
        app,
        "households",
        bulk,
        partitions=settings.kafka_partitions,
        key_type=str,
        value_type=bytes,
        standby_buffer_size=STANDBY_BUFFER,
    )
    unmatched_events = app.topic(topics.PERSONS_UNMATCHED, key_serializer="raw", value_serializer="raw", internal=False)
    unmatched_people = faust_adapter.warm_table(
        app,
        "unmatched_people",
        bulk,
        partitions=settings.kafka_partitions,
        key_type=str,
        standby_buffer_size=STANDBY_BUFFER,
    )

    @functools.cache
    def batch_scorer() -> BatchScorer:
        """The scorer, made at the first batch (the households table's store is made by then)."""
        return _batch_scorer(app, households, policies, active_model)

    # subscribed without an agent: the consumer hands each fetch to score_households
    faust_adapter.deliver_in_batches(app, canonical_events, functools.partial(score_households, batch_scorer))

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
        await active_model.follow(settings.kafka_bootstrap_servers, settings)

    @app.task
    async def serve_scoring_probes() -> None:
        """/healthz, /readyz, /metrics and /partitions (held_partitions) on SCORING_METRICS_PORT (when set)."""
        if settings.scoring_metrics_port:
            pages: dict[str, Page] = {
                "/partitions": functools.partial(held_partitions, app, households),
                "/partitions/offsets": functools.partial(held_partitions, app, households, False),
            }
            ready = functools.partial(readiness, app)
            server = await serve_probes(settings.bind_host, settings.scoring_metrics_port, ready, pages)
            async with server:
                await server.serve_forever()

    return ScoringApp(app, households, unmatched_people, active_model)


def _faust_app(settings: ScoringSettings) -> faust.App:
    return faust_adapter.corrected_app(
        settings.scoring_app_id,
        fetch_wait_ms=settings.scoring_fetch_wait_ms,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        broker_credentials=faust_credentials(settings),  # its own principal: SCRAM-SHA-512 (TLS with KAFKA_SSL_CAFILE)
        table_standby_replicas=settings.scoring_standby_replicas,  # with one worker alone there is none
        datadir=str(settings.scoring_data_dir),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,  # the topics faust makes itself (its assignor's)
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.005,  # seconds: a batch's scores and states travel in a few produce requests
        # aiokafka holds one batch per partition until the request before it is answered: 16 KB batches made a scoring
        # batch's 2 MB of scores wait ~20 broker round trips (100 ms of its 600); the broker takes up to 1 MB a batch.
        producer_max_batch_size=512 * 1024,
        broker_max_poll_records=settings.scoring_batch_events,  # a fetch is a scoring batch (deliver_in_batches)
        broker_commit_interval=settings.scoring_commit_seconds,
        broker_session_timeout=settings.scoring_session_seconds,  # a killed worker's partitions move on within seconds
        broker_heartbeat_interval=settings.scoring_heartbeat_seconds,
    )


def _batch_scorer(app: faust.App, households: TableT, policies: PolicyBook, active_model: ActiveModel) -> BatchScorer:
    """The scorer over the households table's in-memory store (its changelog is written by the scorer itself)."""
    held = faust_adapter.warm_store(households)

    async def publish(topic: str, records: Sequence[Outgoing]) -> list[asyncio.Future[Any]]:
        # faust's own send costs a future and a sensor call per record; its aiokafka producer takes whole batches
        return await send_batches(faust_adapter.kafka_producer(app), topic, records)

    changelog = households.changelog_topic.get_topic_name()
    return BatchScorer(
        publish, held.data, changelog, policies, active_model, held.remember_partition, held.remember_written
    )


async def score_households(scorer: Callable[[], BatchScorer], fetched: Sequence[faust.types.Message]) -> None:
    """Score one fetch of household events; returns only once all of its effects are durable (else the worker exits)."""
    messages = [Message(message.partition, message.value or b"") for message in fetched]  # empty: a dead letter
    for attempt in range(len(RETRY_SECONDS) + 1):
        try:
            await scorer().score(messages)
            return
        except (KafkaError, OSError) as exc:
            if attempt == len(RETRY_SECONDS):
                log.critical("scores could not be sent after %d attempts (%s): stopping unacknowledged", attempt, exc)
                os._exit(75)  # the events are not acknowledged: a restarted worker scores them again
            log.warning("scores not sent (%s); retrying the batch", exc)
            await asyncio.sleep(RETRY_SECONDS[attempt])
        except Exception:
            log.exception("a scoring batch failed: stopping without acknowledging it")
            os._exit(70)  # the events are not acknowledged: a restarted worker meets them again


async def readiness(app: faust.App) -> dict[str, bool]:
    """The worker holds its share of the group's partitions, its tables recovered (a rebalance has ended since the
    last one began)."""
    return {"group": app.rebalancing_count > 0 and not app.rebalancing}


async def held_partitions(app: faust.App, households: TableT, digests: bool = True) -> dict[str, Any]:
    """The households table's partitions on this worker: active or standby, households, offset held, digest."""
    changelog = households.changelog_topic.get_topic_name()
    assignor = app.assignor
    actives = {tp.partition for tp in assignor.assigned_actives() if tp.topic == changelog}
    standbys = {tp.partition for tp in assignor.assigned_standbys() if tp.topic == changelog}
    return {"households": store.partitions(faust_adapter.warm_store(households), actives, standbys, digests)}
