"""docker-compose.yml keeps the `make run` topology: Kafka and Redis first, healthy, then the four services."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.common import kafka_acls
from services.common.settings import AlertsSettings, ApiSettings, IngestSettings, JobsSettings, ScoringSettings

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed in this environment (add pyyaml to the dev extras)")

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
APP_SERVICES = ("ingest", "scoring", "alerts", "api", "jobs")
OPERATOR_SERVICES = ("prometheus", "grafana")
REQUIRED_SECRETS = {"ingest": "PSEUDONYM_KEY", "api": "JWT_SECRET"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def test_the_compose_file_defines_kafka_its_setup_redis_the_four_services_the_jobs_process_prometheus_and_grafana(
    services,
):
    assert set(services) == {"kafka", "kafka-setup", "redis", *APP_SERVICES, *OPERATOR_SERVICES}


def broker_properties(kafka: dict[str, Any]) -> dict[str, str]:
    """The server.properties the compose broker's script writes (deploy/compose/kafka.sh, mounted from the repo)."""
    [script] = [inside_repo(volume) for volume in kafka["volumes"] if volume.startswith("./")]
    assert kafka["entrypoint"][-1] == volume_target(kafka, script)
    text = script.read_text(encoding="utf-8").split("<<PROPS\n", 1)[1].split("\nPROPS\n", 1)[0]
    return dict(line.split("=", 1) for line in text.splitlines())


def inside_repo(volume: str) -> Path:
    return REPO_ROOT / volume.split(":")[0][2:]


def volume_target(service: dict[str, Any], source: Path) -> str:
    return next(v.split(":")[1] for v in service["volumes"] if v.startswith("./") and inside_repo(v) == source)


def test_kafka_is_the_official_apache_kafka_4_image_in_kraft_mode_authenticating_and_authorising_every_client(services):
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"])
    properties = broker_properties(kafka)
    assert properties["process.roles"] == "broker,controller"
    assert "CLIENT://kafka:9092" in properties["advertised.listeners"]
    assert properties["auto.create.topics.enable"] == "false"
    protocols = dict(item.split(":") for item in properties["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}  # no listener takes a client without credentials
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert properties["super.users"] == "User:admin;User:controller"
    for variable in ("KAFKA_ADMIN_PASSWORD", "KAFKA_CONTROLLER_PASSWORD"):
        assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", environment_of(kafka)[variable])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_service_connects_to_kafka_as_its_own_principal_once_its_acls_are_made(services, name):
    env = environment_of(services[name])
    assert env["KAFKA_USERNAME"] == name
    assert re.fullmatch(rf"\$\{{KAFKA_{name.upper()}_PASSWORD:\?[^}}]+\}}", env["KAFKA_PASSWORD"])
    assert services[name]["depends_on"]["kafka-setup"]["condition"] == "service_completed_successfully"


def test_kafka_setup_applies_the_acl_table_as_admin_with_a_password_for_every_principal(services):
    setup = services["kafka-setup"]
    assert setup["command"] == ["python", "-m", "services.common.kafka_provision"]
    env = environment_of(setup)
    assert env["KAFKA_USERNAME"] == kafka_acls.ADMIN
    assert env["KAFKA_PASSWORD"].startswith("${KAFKA_ADMIN_PASSWORD:?")
    for principal in (*kafka_acls.SERVICES, kafka_acls.UPSTREAM):
        variable = f"KAFKA_{principal.upper()}_PASSWORD"
        assert re.fullmatch(rf"\$\{{{variable}:\?[^}}]+\}}", env[variable]), variable
    assert setup["depends_on"]["kafka"]["condition"] == "service_healthy"


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
    env = {**os.environ, "PSEUDONYM_KEY": "test-pseudonym-key", "JWT_SECRET": "test-jwt-secret",
           "GRAFANA_ADMIN_PASSWORD": "test-grafana-password", "REDIS_PASSWORD": "test-redis-password",
           "WEBHOOK_SECRET_KEY": "test-webhook-secret-key-0123456789abcdef",
           **{f"KAFKA_{name.upper()}_PASSWORD": f"test-{name}-password" for name in
              ("admin", "controller", *kafka_acls.SERVICES, kafka_acls.UPSTREAM)}}  # fmt: skip
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# Prometheus and Grafana: the operators' dashboard and alert rules over every service's metrics.
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"
# Where each service serves /metrics: the setting that names the port, and its default when compose leaves it unset.
METRICS_PORTS = {
    "api": ("API_PORT", ApiSettings.model_fields["api_port"].default),
    "ingest": ("INGEST_PORT", IngestSettings.model_fields["ingest_port"].default),
    "alerts": ("ALERTS_METRICS_PORT", AlertsSettings.model_fields["alerts_metrics_port"].default),
    "scoring": ("SCORING_METRICS_PORT", ScoringSettings.model_fields["scoring_metrics_port"].default),
    "jobs": ("JOBS_METRICS_PORT", JobsSettings.model_fields["jobs_metrics_port"].default),
}
PROMTOOL = REPO_ROOT / ".cache" / "promtool" / "promtool"


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """The service's bind mounts from the repository: path inside the container -> path in the repository."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            found[target] = REPO_ROOT / source[2:]
    return found


def inside(service: dict[str, Any], container_path: str) -> Path:
    """The repository file a container path of the service reads (through its bind mounts)."""
    for target, source in sorted(mounts(service).items(), key=lambda m: -len(m[0])):
        if container_path == target or container_path.startswith(f"{target}/"):
            return source / container_path[len(target) :].lstrip("/")
    raise AssertionError(f"{container_path} is not mounted from the repository")


@pytest.fixture(scope="module")
def prometheus_config(services) -> tuple[Path, dict[str, Any]]:
    flag = next(arg for arg in services["prometheus"]["command"] if arg.startswith("--config.file="))
    path = inside(services["prometheus"], flag.split("=", 1)[1])
    return path, yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("name", "port"), [("prometheus", 9090), ("grafana", 3000)])
def test_prometheus_and_grafana_are_pinned_images_on_localhost_only_with_healthchecks(services, name, port):
    service = services[name]
    assert re.fullmatch(r"(prom/prometheus|grafana/grafana):v?\d+\.\d+\.\d+", service["image"]), service["image"]
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"] and service["restart"] == "unless-stopped"
    assert f"127.0.0.1:{port}/" in " ".join(service["healthcheck"]["test"])
    assert all(mounted.exists() for mounted in mounts(service).values()) and mounts(service)


def test_prometheus_scrapes_every_service_on_the_port_it_serves_its_metrics_on(services, prometheus_config):
    _, config = prometheus_config
    targets = {job["job_name"]: [t for c in job["static_configs"] for t in c["targets"]] for job in
               config["scrape_configs"]}  # fmt: skip
    assert set(targets) == set(APP_SERVICES)
    for name, (setting, default) in METRICS_PORTS.items():
        port = int(environment_of(services[name]).get(setting, default))
        assert port > 0, f"{name} serves no metrics: set {setting} in docker-compose.yml"
        assert targets[name] == [f"{name}:{port}"], name


def test_prometheus_loads_the_alert_rules_of_the_repository(services, prometheus_config):
    path, config = prometheus_config
    loaded = {rule for pattern in config["rule_files"] for rule in path.parent.glob(pattern)}
    assert loaded == set(PROMETHEUS_DIR.glob("*rules*.yml")) and loaded


@pytest.mark.skipif(not PROMTOOL.exists() and shutil.which("promtool") is None,
                    reason="promtool is not installed (make promtool builds it)")  # fmt: skip
def test_promtool_accepts_the_prometheus_config_with_its_rules(prometheus_config):
    tool = str(PROMTOOL) if PROMTOOL.exists() else "promtool"
    done = subprocess.run([tool, "check", "config", str(prometheus_config[0])], capture_output=True, text=True)
    assert done.returncode == 0 and "rule files found" in done.stdout, done.stdout + done.stderr


def test_grafana_is_provisioned_with_the_dashboard_and_the_prometheus_service_as_its_data_source(services):
    grafana = services["grafana"]
    assert inside(grafana, "/etc/grafana/provisioning") == GRAFANA_DIR / "provisioning"
    (provider,) = yaml.safe_load((GRAFANA_DIR / "provisioning/dashboards/shouwang.yml").read_text())["providers"]
    assert (inside(grafana, provider["options"]["path"]) / "shouwang.json").exists()
    (source,) = yaml.safe_load((GRAFANA_DIR / "provisioning/datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090" and "9090:9090" in services["prometheus"]["ports"][0]
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    env = environment_of(grafana)
    assert str(env["GF_AUTH_ANONYMOUS_ENABLED"]).lower() == "false" and str(env["GF_USERS_ALLOW_SIGN_UP"]) == "false"
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"])  # never a default
