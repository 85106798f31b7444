"""Session fixtures: a real Kafka broker and Redis, started once, only when a test needs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra import Stack, make_stack, start_kafka, start_redis


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a single-node KRaft broker private to this test session."""
    process, bootstrap = start_kafka(tmp_path_factory.mktemp("kafka"))
    yield bootstrap
    process.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a redis-server private to this test session."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    process.stop()


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Ingest, scoring, alerts and API running as separate processes."""
    running = make_stack(kafka_bootstrap, redis_url, tmp_path_factory.mktemp("scoring"))
    for name in ("ingest", "scoring", "alerts", "api"):
        running.start(name)
    yield running
    running.stop_all()
