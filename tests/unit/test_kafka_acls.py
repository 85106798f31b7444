"""The Kafka ACL table (services/common/kafka_acls.py) against what each service's code uses: the topic constants of
services/common/topics.py its modules reach, the topic and group names its settings default to."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from services.common import kafka_acls, topics
from services.common.kafka_acls import Names
from services.common.settings import AlertsSettings, ApiSettings, IngestSettings, JobsSettings, ScoringSettings

ROOT = Path(__file__).resolve().parents[2]
MADE = {spec.name for spec in topics.topic_specs(1)}
TOPIC_CONSTANTS = {name: value for name, value in vars(topics).items() if name.isupper() and value in MADE}
ENTRY = {  # principal → the module its process runs, and the settings it reads
    "ingest": ("services.ingest.__main__", IngestSettings),
    "scoring": ("services.scoring.__main__", ScoringSettings),
    "alerts": ("services.alerts.__main__", AlertsSettings),
    "api": ("services.api.__main__", ApiSettings),
    "jobs": ("services.jobs.__main__", JobsSettings),
    "analyst": ("services.analytics.cli", ScoringSettings),
}
# Topics a process's code names that its principal may not touch, and why that is right.
NOT_GRANTED = {
    "api": {topics.CANONICAL},  # it validates training requests (their default topic); the jobs process reads it
    "analyst": {topics.INBOUND},  # `cli simulate --to kafka` acts as a department: run it as an upstream principal
}


def _module_file(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _references(module: str) -> tuple[set[str], set[str]]:
    """The services modules `module` imports (anywhere in it) and the topic constants it names."""
    tree = ast.parse(_module_file(module).read_text())  # type: ignore[union-attr]
    imported, named = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("services"):
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                imported.add(inner if _module_file(inner) else node.module)
                if node.module == topics.__name__ and alias.name in TOPIC_CONSTANTS:
                    named.add(TOPIC_CONSTANTS[alias.name])
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names if alias.name.startswith("services")}
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "topics":
            named |= {TOPIC_CONSTANTS[node.attr]} if node.attr in TOPIC_CONSTANTS else set()
    return imported, named


def topics_used(entry: str, settings: type[BaseSettings]) -> set[str]:
    """Every topic the code reachable from `entry` names, and the defaults of its settings' `*_topic` fields."""
    seen: set[str] = set()
    named: set[str] = set()
    pending = [entry]
    while pending:
        module = pending.pop()
        if module in seen or _module_file(module) is None:
            continue
        seen.add(module)
        imported, found = _references(module)
        pending.extend(imported)
        named |= found
    configured = {field.default for name, field in settings.model_fields.items() if name.endswith("_topic")}
    return named | configured


def granted_topics(principal: str) -> set[str]:
    return {grant.name for grant in kafka_acls.grants_of(principal) if grant.resource == "topic" and not grant.prefixed}


@pytest.mark.parametrize("principal", sorted(ENTRY))
def test_each_service_principal_is_granted_exactly_the_topics_its_code_uses(principal):
    entry, settings = ENTRY[principal]
    used = topics_used(entry, settings) - NOT_GRANTED.get(principal, set())
    assert granted_topics(principal) == used


def test_the_topics_a_service_uses_without_a_grant_are_named_by_its_code_so_the_exceptions_stay_true():
    for principal, names in NOT_GRANTED.items():
        entry, settings = ENTRY[principal]
        assert names <= topics_used(entry, settings)
        assert not names & granted_topics(principal)


def test_every_service_in_the_table_has_an_entry_module_checked_here():
    assert set(kafka_acls.SERVICES) == set(ENTRY) == set(kafka_acls.service_grants())


def test_the_default_names_are_the_services_own_defaults():
    names = Names()
    assert names.scoring_app_id == ScoringSettings.model_fields["scoring_app_id"].default
    assert names.alerts_group_id == AlertsSettings.model_fields["alerts_group_id"].default
    assert names.scores_topic == AlertsSettings.model_fields["scores_topic"].default
    assert names.alerts_changes_topic == ApiSettings.model_fields["alerts_changes_topic"].default


def test_each_consumer_group_is_granted_to_the_one_service_that_joins_it():
    groups = {
        principal: {grant.name for grant in grants if grant.resource == "group"}
        for principal, grants in kafka_acls.service_grants().items()
    }
    assert groups["ingest"] == {topics.INGEST_GROUP}
    assert groups["scoring"] == {Names().scoring_app_id}
    assert groups["alerts"] == {Names().alerts_group_id, f"{Names().alerts_group_id}-projector"}
    assert not groups["api"] | groups["jobs"] | groups["analyst"]


def writers(topic: str) -> set[str]:
    return {
        principal
        for principal in [*kafka_acls.SERVICES, kafka_acls.UPSTREAM]
        if kafka_acls.may(principal, "Write", topic)
    }


def test_only_ingest_writes_what_scoring_trusts_and_only_scoring_writes_scores():
    assert writers(topics.CANONICAL) == {"ingest"}
    assert writers(topics.PERSONS_UNMATCHED) == {"ingest"}
    assert writers(topics.SCORES) == {"scoring"}


def test_only_the_alerts_service_and_the_api_write_alert_changes_and_only_api_and_jobs_switch_models():
    assert writers(topics.ALERT_CHANGES) == {"alerts", "api"}
    assert writers(topics.MODEL_ACTIVATIONS) == {"api", "jobs"}


def test_an_upstream_principal_may_write_events_inbound_and_nothing_else():
    for name in TOPIC_CONSTANTS.values():
        assert kafka_acls.may(kafka_acls.UPSTREAM, "Write", name) == (name == topics.INBOUND)
        assert not kafka_acls.may(kafka_acls.UPSTREAM, "Read", name)
    assert kafka_acls.grants_of("upstream-civil-affairs", upstreams=("upstream-civil-affairs",)) == (
        kafka_acls.upstream_grants()
    )


def test_every_topic_the_system_makes_has_a_writer_and_a_reader_and_the_analyst_writes_none():
    for spec in topics.topic_specs(6):
        assert writers(spec.name), spec.name
        if spec.name not in (topics.DEADLETTER, topics.ALERTS_DEADLETTER):  # operators read dead letters as admin
            assert any(kafka_acls.may(p, "Read", spec.name) for p in kafka_acls.SERVICES), spec.name
        assert not kafka_acls.may("analyst", "Write", spec.name)


def test_a_principal_outside_the_table_may_do_nothing():
    assert kafka_acls.grants_of("mallory") == ()
    assert not kafka_acls.may("mallory", "Read", topics.SCORES)
