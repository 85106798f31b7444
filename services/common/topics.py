"""Kafka topic names and their creation with explicit partition counts, replication and `min.insync.replicas`."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from tenacity import retry, stop_after_delay, wait_fixed

from services.common.kafka_auth import KafkaCredentials, client_options

INBOUND = "events.inbound"  # upstream systems with broker access produce here (raw, unvalidated)
CANONICAL = "events.canonical"  # validated, pseudonymised events keyed by household_id
DEADLETTER = "events.deadletter"  # invalid inbound messages with the reason
SCORES = "scores"  # household assessments keyed by household_id
ALERT_CHANGES = "alerts.changes"  # every change of an alert, keyed by household_id: the system of record
PERSONS_UNMATCHED = "persons.unmatched"  # person-level records matching no household yet, keyed by pseudonym
SHADOW_SCORES = "scores.shadow"  # a shadow candidate's assessment next to the active one's; never alerts
MODEL_ACTIVATIONS = "models.activations"  # which risk model version scoring uses; every worker reads it all
ALERTS_DEADLETTER = "alerts.deadletter"  # scores and alert changes that can never apply, with the reason in headers
INGEST_GROUP = "shouwang-ingest-inbound"  # ingest's consumer group on events.inbound

_DAY_MS = 24 * 3600 * 1000


class _KafkaSettings(Protocol):
    kafka_replication_factor: int
    kafka_min_insync_replicas: int


@dataclass(frozen=True)
class Replication:
    """How many brokers hold each partition, and how many must have a write before it is acknowledged (acks=all)."""

    factor: int = 1
    min_insync: int = 1

    @classmethod
    def of(cls, settings: _KafkaSettings) -> Replication:
        """KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS of a service's settings."""
        return cls(settings.kafka_replication_factor, settings.kafka_min_insync_replicas)

    def topic(self, name: str, partitions: int, configs: Mapping[str, str] | None = None) -> NewTopic:
        """A topic to create with this replication (its `min.insync.replicas` among its configs)."""
        settings = {**(configs or {}), "min.insync.replicas": str(self.min_insync)}
        return NewTopic(name, partitions, self.factor, topic_configs=settings)


def topic_specs(partitions: int, replication: Replication = Replication()) -> list[NewTopic]:
    """Return the topics the system needs; household-keyed ones get `partitions` partitions."""
    keep = replication.topic
    return [
        keep(INBOUND, partitions, {"retention.ms": str(7 * _DAY_MS)}),
        keep(CANONICAL, partitions, {"retention.ms": "-1"}),
        keep(DEADLETTER, partitions, {"retention.ms": str(30 * _DAY_MS)}),
        keep(SCORES, partitions, {"retention.ms": "-1"}),
        keep(SHADOW_SCORES, partitions, {"retention.ms": str(90 * _DAY_MS)}),
        keep(ALERT_CHANGES, partitions, {"retention.ms": "-1"}),
        keep(PERSONS_UNMATCHED, partitions, {"retention.ms": "-1"}),
        keep(MODEL_ACTIVATIONS, 1, {"retention.ms": "-1"}),
        keep(ALERTS_DEADLETTER, partitions, {"retention.ms": str(30 * _DAY_MS)}),
    ]


def _admin(bootstrap_servers: str, credentials: KafkaCredentials | None) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="shouwang-topics", **client_options(credentials)
    )


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def ensure_topics(
    bootstrap_servers: str,
    partitions: int,
    extra: Sequence[NewTopic] = (),
    replication: Replication = Replication(),
    credentials: KafkaCredentials | None = None,
) -> None:
    """Create any missing topic, and `extra` ones (idempotent; the admin's job: a service may create only its own
    internal topics); returns once the broker's metadata shows each created one with its leaders; waits up to two
    minutes for the broker. Topics that exist keep their replication. `credentials` None: the environment's."""
    create_missing(bootstrap_servers, [*topic_specs(partitions, replication), *extra], credentials)


def create_missing(bootstrap_servers: str, specs: Sequence[NewTopic], credentials: KafkaCredentials | None) -> None:
    """Create those of `specs` that do not exist (among the topics these credentials may see)."""
    admin = _admin(bootstrap_servers, credentials)
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
            admin.wait_for_topics([spec.name for spec in missing], timeout_ms=30_000)
    finally:
        admin.close()


class TopicsMissing(RuntimeError):
    """Topics a service uses do not exist (yet): the admin makes them (`python -m services.common.kafka_provision`)."""


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def await_topics(bootstrap_servers: str, names: Sequence[str], credentials: KafkaCredentials | None = None) -> None:
    """Wait up to two minutes until every named topic exists and this principal may see it (then TopicsMissing)."""
    admin = _admin(bootstrap_servers, credentials)
    try:
        missing = sorted(set(names) - set(admin.list_topics()))
    finally:
        admin.close()
    if missing:
        raise TopicsMissing(f"topics {', '.join(missing)} do not exist or this Kafka principal may not see them")


def partition_counts(
    bootstrap_servers: str, names: Sequence[str], credentials: KafkaCredentials | None = None
) -> dict[str, int]:
    """How many partitions each of the named topics has."""
    admin = _admin(bootstrap_servers, credentials)
    try:
        return {described["name"]: len(described["partitions"]) for described in admin.describe_topics(list(names))}
    finally:
        admin.close()
