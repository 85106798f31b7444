"""docker-compose.yml keeps the `make run` topology: Kafka and Redis first, healthy, then the four services."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment (add pyyaml to the dev extras)")

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
APP_SERVICES = ("ingest", "scoring", "alerts", "api", "jobs")
REQUIRED_SECRETS = {"ingest": "PSEUDONYM_KEY", "api": "JWT_SECRET"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def test_the_compose_file_defines_kafka_redis_the_four_services_and_the_jobs_process(services):
    assert set(services) == {"kafka", "redis", *APP_SERVICES}


def test_kafka_is_the_official_apache_kafka_4_image_in_kraft_mode(services):
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"])
    env = environment_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"


def test_redis_runs_with_the_append_only_file(services):
    command = services["redis"]["command"]
    words = command if isinstance(command, list) else command.split()
    assert words[words.index("--appendonly") + 1] == "yes"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_service_waits_for_healthy_kafka_and_redis(services, name):
    depends_on = services[name]["depends_on"]
    for dependency in ("kafka", "redis"):
        assert depends_on[dependency]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_service_is_built_from_the_one_dockerfile_and_reaches_the_broker_by_name(services, name):
    service = services[name]
    assert service["build"] == "."
    assert service["restart"] == "unless-stopped"
    env = environment_of(service)
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert env["BIND_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("name", ["kafka", "redis", "ingest", "api", "scoring", "alerts"])
def test_kafka_redis_and_the_four_services_have_healthchecks(services, name):
    test = services[name]["healthcheck"]["test"]
    assert test and test[0] in {"CMD", "CMD-SHELL"}


@pytest.mark.parametrize(("name", "port"), [("ingest", 8001), ("api", 8000)])
def test_the_http_services_publish_their_port_on_localhost_only(services, name, port):
    assert f"127.0.0.1:{port}:{port}" in services[name]["ports"]


@pytest.mark.parametrize(
    ("name", "setting", "port"),
    [("ingest", "INGEST_PORT", 8001), ("api", "API_PORT", 8000), ("scoring", "SCORING_METRICS_PORT", 8003),
     ("alerts", "ALERTS_METRICS_PORT", 8002)],
)  # fmt: skip
def test_the_healthchecks_ask_each_service_s_readyz_on_its_port(services, name, setting, port):
    assert str(environment_of(services[name])[setting]) == str(port)
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(services[name]["healthcheck"]["test"])


@pytest.mark.parametrize(("name", "variable"), REQUIRED_SECRETS.items())
def test_secrets_are_required_variables_not_defaults(services, name, variable):
    value = environment_of(services[name])[variable]
    assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", value), value


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    return result.returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="`docker compose` (the compose plugin) is not installed")
def test_docker_compose_accepts_the_file():
    env = {**os.environ, "PSEUDONYM_KEY": "test-pseudonym-key", "JWT_SECRET": "test-jwt-secret"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
