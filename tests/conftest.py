"""Session fixtures: a real Kafka broker and Redis, started once, only when a test needs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import infra
from tests.infra import Server, Stack, make_stack


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A single-node KRaft broker private to this test session (the drills restart it)."""
    server = infra.kafka_server(tmp_path_factory.mktemp("kafka"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: Server) -> str:
    """Bootstrap address of the session's broker."""
    return kafka_server.address


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A redis-server private to this test session (the drills restart it)."""
    server = infra.redis_server(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: Server) -> str:
    """URL of the session's redis-server."""
    return redis_server.address


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Ingest, scoring, alerts, API and jobs running as separate processes."""
    running = make_stack(kafka_bootstrap, redis_url, tmp_path_factory.mktemp("scoring"))
    for name in ("ingest", "scoring", "alerts", "api", "jobs"):
        running.start(name)
    yield running
    running.stop_all()
