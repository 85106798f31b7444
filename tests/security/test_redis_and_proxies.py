"""Redis takes no client without its password and refuses writes when full, in the tests' Redis (started as `make
run` starts it) and in the compose and Kubernetes files; behind a proxy the services trust its X-Forwarded-For."""

import ipaddress
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


@pytest.mark.integration
def test_a_client_without_the_password_cannot_make_itself_a_national_admin(stack):
    address = stack.redis_url.replace(stack.redis_url.split("@")[0].split("//")[1] + "@", "")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(address).hset("user:intruder", mapping={"role": "admin", "region_code": ""})
    assert redis.Redis.from_url(stack.redis_url).exists("user:intruder") == 0
    for url in (stack.api_url, stack.ingest_url):  # every service connects with the password
        assert httpx.get(f"{url}/readyz").json()["checks"]["redis"] is True


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_gives_redis_its_password_on_standard_input_and_every_service_the_same_required_secret():
    services = _compose()["services"]
    command = services["redis"]["command"]
    assert "requirepass" in command[2] and "$$REDIS_PASSWORD" in command[2] and "redis-server -" in command[2]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction" and "--maxmemory" in command
    required = "${REDIS_PASSWORD:?"
    assert services["redis"]["environment"]["REDIS_PASSWORD"].startswith(required)
    for name in ("ingest", "alerts", "api", "jobs"):
        assert services[name]["environment"]["REDIS_PASSWORD"].startswith(required), name


def test_compose_trusts_the_networks_gateway_as_the_proxy_of_api_and_ingest():
    compose = _compose()
    [network] = compose["networks"]["default"]["ipam"]["config"]
    for name in ("api", "ingest"):
        trusted = compose["services"][name]["environment"]["FORWARDED_ALLOW_IPS"]
        assert trusted == "${FORWARDED_ALLOW_IPS:-" + network["gateway"] + "}"
        assert ipaddress.ip_address(network["gateway"]) in ipaddress.ip_network(network["subnet"])


def _workload(file: str) -> dict[str, Any]:
    docs = [doc for doc in yaml.safe_load_all((K8S / file).read_text(encoding="utf-8")) if doc]
    [workload] = [doc for doc in docs if doc["kind"] in ("Deployment", "StatefulSet")]
    container: dict[str, Any] = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def _from_secret(container: dict[str, Any], variable: str) -> str | None:
    for env in container.get("env", []):
        if env["name"] == variable and "secretKeyRef" in env.get("valueFrom", {}):
            return str(env["valueFrom"]["secretKeyRef"]["key"])
    return None


def test_kubernetes_takes_the_redis_password_from_the_secret_everywhere_and_redis_refuses_writes_when_full():
    redis_container = _workload("redis.yaml")
    assert "requirepass" in redis_container["command"][2] and "redis-server -" in redis_container["command"][2]
    assert _from_secret(redis_container, "REDIS_PASSWORD") == "REDIS_PASSWORD"
    assert _from_secret(redis_container, "REDISCLI_AUTH") == "REDIS_PASSWORD"  # the probes' redis-cli
    args = redis_container["args"]
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction" and "--maxmemory" in args
    for file in ("ingest.yaml", "alerts.yaml", "api.yaml", "jobs.yaml"):
        assert _from_secret(_workload(file), "REDIS_PASSWORD") == "REDIS_PASSWORD", file


def test_kubernetes_trusts_the_pod_network_of_the_ingress_controller_as_proxy():
    settings = dict(
        line.split("=", 1)
        for line in (K8S / "settings.env").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert ipaddress.ip_network(settings["FORWARDED_ALLOW_IPS"]).num_addresses > 1


def test_make_run_generates_a_redis_password_and_starts_redis_with_a_memory_limit_that_refuses_writes():
    run = (ROOT / "deploy/local/run.sh").read_text(encoding="utf-8")
    assert "REDIS_PASSWORD=" in run and 'REDIS_PASSWORD="${REDIS_PASSWORD}"' in run
    script = (ROOT / "deploy/local/redis.sh").read_text(encoding="utf-8")
    assert "requirepass" in script and "redis-server -" in script and "maxmemory-policy noeviction" in script
