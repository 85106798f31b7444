"""Who may do what on Kafka: one principal per service with exactly the topics, groups and operations it uses, and
upstream department principals that may only write `events.inbound`. The brokers deny everything else (no ACL: no
access); only the admin principal (topics, users, ACLs) is a super user. Every deployment applies this table: `make
run` and the tests through `services.common.kafka_provision`, Kubernetes through the KafkaUser resources checked
against it (tests/unit/test_k8s_manifests.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from services.common import topics

ADMIN = "admin"  # the bootstrap super user: creates topics, SCRAM users and ACLs; no service runs as it
UPSTREAM = "upstream"  # the department principal `make run` makes; each department gets its own (docs/security.md)
SERVICES = ("ingest", "scoring", "alerts", "api", "jobs", "analyst")
Operation = Literal["Read", "Write", "Create", "Describe"]
Resource = Literal["topic", "group"]


@dataclass(frozen=True)
class Grant:
    """Operations a principal may perform on one topic or consumer group (a name prefix when `prefixed`)."""

    resource: Resource
    name: str
    operations: tuple[Operation, ...]
    prefixed: bool = False


@dataclass(frozen=True)
class Names:
    """The topic and group names a deployment gives the services (their settings' defaults; tests vary them)."""

    scoring_app_id: str = "shouwang-scoring"  # SCORING_APP_ID: faust's group and its internal topics' prefix
    alerts_group_id: str = "shouwang-alerts"  # ALERTS_GROUP_ID: scores; `-projector`: alerts.changes
    scores_topic: str = topics.SCORES  # SCORES_TOPIC (alerts reads it)
    alerts_changes_topic: str = topics.ALERT_CHANGES  # ALERTS_CHANGES_TOPIC (alerts and api)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Names:
        """The names a service started with `env` uses (SCORING_APP_ID, ALERTS_GROUP_ID, SCORES_TOPIC, ...)."""
        default = cls()
        return cls(
            env.get("SCORING_APP_ID", default.scoring_app_id),
            env.get("ALERTS_GROUP_ID", default.alerts_group_id),
            env.get("SCORES_TOPIC", default.scores_topic),
            env.get("ALERTS_CHANGES_TOPIC", default.alerts_changes_topic),
        )


def _topic(name: str, *operations: Operation) -> Grant:
    return Grant("topic", name, operations)


def _group(name: str) -> Grant:
    return Grant("group", name, ("Read",))


def service_grants(names: Names = Names()) -> dict[str, tuple[Grant, ...]]:
    """The table: each service principal → what it may do (Read and Write imply Describe on Kafka)."""
    return {
        "ingest": (
            _topic(topics.INBOUND, "Read"),
            _group(topics.INGEST_GROUP),
            _topic(topics.CANONICAL, "Write"),
            _topic(topics.DEADLETTER, "Write"),
            _topic(topics.PERSONS_UNMATCHED, "Write"),
        ),
        "scoring": (
            _topic(topics.CANONICAL, "Read"),
            _topic(topics.PERSONS_UNMATCHED, "Read"),
            _topic(topics.MODEL_ACTIVATIONS, "Read"),
            _topic(topics.SCORES, "Write"),
            _topic(topics.SHADOW_SCORES, "Write"),
            _topic(topics.DEADLETTER, "Write"),
            _group(names.scoring_app_id),
            # faust's own topics: the tables' changelogs and its assignor's, created by the worker itself
            Grant("topic", f"{names.scoring_app_id}-", ("Create", "Read", "Write", "Describe"), prefixed=True),
        ),
        "alerts": (
            _topic(names.scores_topic, "Read"),
            _topic(names.alerts_changes_topic, "Read", "Write"),
            _topic(topics.ALERTS_DEADLETTER, "Write"),
            _group(names.alerts_group_id),
            _group(f"{names.alerts_group_id}-projector"),
        ),
        "api": (
            _topic(names.alerts_changes_topic, "Write"),
            _topic(topics.MODEL_ACTIVATIONS, "Read", "Write"),
            _topic(topics.SHADOW_SCORES, "Read"),
        ),
        "jobs": (
            _topic(topics.CANONICAL, "Read"),  # training from Kafka
            _topic(topics.MODEL_ACTIVATIONS, "Read", "Write"),  # a training job asked to activate its model
        ),
        "analyst": (  # the analyst command line reads; activating goes through the API (audited)
            _topic(topics.CANONICAL, "Read"),
            _topic(names.alerts_changes_topic, "Read"),
            _topic(topics.MODEL_ACTIVATIONS, "Read"),
            _topic(topics.SHADOW_SCORES, "Read"),
        ),
    }


def upstream_grants() -> tuple[Grant, ...]:
    """What a department's upstream principal may do: write raw events to `events.inbound`, nothing else."""
    return (_topic(topics.INBOUND, "Write"),)


def grants_of(principal: str, names: Names = Names(), upstreams: tuple[str, ...] = (UPSTREAM,)) -> tuple[Grant, ...]:
    """The grants of one principal (a service's, or one of the `upstreams`); unknown principals have none."""
    if principal in upstreams:
        return upstream_grants()
    return service_grants(names).get(principal, ())


def may(principal: str, operation: Operation, topic: str, names: Names = Names()) -> bool:
    """Whether the table lets `principal` perform `operation` on `topic` (literal or prefixed grants)."""
    for grant in grants_of(principal, names):
        matches = topic.startswith(grant.name) if grant.prefixed else topic == grant.name
        if grant.resource == "topic" and matches and operation in grant.operations:
            return True
    return False
