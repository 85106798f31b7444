"""`make run` as a new user runs it: demo data flows, alerts appear, and Ctrl-C or SIGTERM stops everything."""

import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
import psutil
import pytest
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent
from kafka.admin import KafkaAdminClient
from pydantic import SecretStr

from bench.clients import group_assignment
from services.common.kafka_auth import KafkaCredentials, client_options
from tests.factories import registration
from tests.infra import LOGS, ROOT, free_port, port_open, wait_until

pytestmark = pytest.mark.integration
PROCESSES = ("kafka", "redis", "ingest", "scoring", "alerts", "api", "jobs", "ready", "demo")  # deploy/local/run.sh
# The consumer groups make run's services form, and the topic each reads (every partition of it held once ready).
GROUPS = {
    "shouwang-scoring": "events.canonical",
    "shouwang-alerts": "scores",
    "shouwang-alerts-projector": "alerts.changes",
    "shouwang-ingest-inbound": "events.inbound",
}


def start_make_run(tmp_path, **extra: str):
    names = ("api", "ingest", "alerts_metrics", "scoring_metrics", "kafka", "controller", "redis")
    ports = {name: free_port() for name in names}
    env = {
        **os.environ,
        "STATE_DIR": str(tmp_path / "state"),
        "API_PORT": str(ports["api"]),
        "INGEST_PORT": str(ports["ingest"]),
        "ALERTS_METRICS_PORT": str(ports["alerts_metrics"]),
        "SCORING_METRICS_PORT": str(ports["scoring_metrics"]),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports['kafka']}",
        "KAFKA_CONTROLLER_PORT": str(ports["controller"]),
        "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "ADMIN_PASSWORD": "e2e-bootstrap-passphrase",
        "INGEST_API_KEYS": "e2e-key=/",
        "DEMO_HOUSEHOLDS": "20",
        "DEMO_TRAIN_HOUSEHOLDS": "300",
        **extra,
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / "make-run.log").open("ab")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return process, ports, log


def said_ready(process: subprocess.Popen[bytes], offset: int) -> bool:
    """make run has printed its ready line (after `offset` bytes of its log); an error if it has ended instead."""
    with (LOGS / "make-run.log").open("rb") as log:
        log.seek(offset)
        if b"Shouwang is ready" in log.read():
            return True
    assert process.poll() is None, f"make run ended ({process.returncode}) before it was ready: see make-run.log"
    return False


def state_secret(state: Path, name: str) -> str:
    """A secret `make run` generated into state/secrets.env."""
    lines = (state / "secrets.env").read_text().splitlines()
    return next(line.partition("=")[2] for line in lines if line.startswith(f"{name}="))


def as_make_run_admin(state: Path) -> dict[str, Any]:
    """Client options of the Kafka admin `make run` made (its password from state/secrets.env)."""
    password = SecretStr(state_secret(state, "KAFKA_ADMIN_PASSWORD"))
    return client_options(KafkaCredentials(kafka_username="admin", kafka_password=password))


def groups_holding_every_partition(bootstrap: str, state_dir: Path) -> dict[str, str]:
    """Each consumer group of the services whose members do not (yet) hold every partition of its topic: why."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **as_make_run_admin(state_dir))
    try:
        problems = {}
        for group, topic in GROUPS.items():
            state, members = group_assignment(admin, group, topic)
            held = sorted(p for partitions in members.values() for p in partitions)
            if state != "Stable" or held != list(range(6)):
                problems[group] = f"{state}, partitions {held}"
        return problems
    finally:
        admin.close()


def admin_headers(api: str) -> dict[str, str]:
    token = httpx.post(f"{api}/auth/token", data={"username": "admin", "password": "e2e-bootstrap-passphrase"})
    return {"authorization": f"Bearer {token.json()['access_token']}"}


def api_ready(api: str) -> bool:
    try:
        return httpx.get(f"{api}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def arguments(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:  # gone, or a zombie
        return []


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for_exit(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """`make run` exits within a minute of its signal; its log is closed either way."""
    try:
        process.wait(60)
    finally:
        log.close()


def assert_nothing_left(ports: dict[str, int], children: list[psutil.Process]) -> None:
    """Every port `make run` listened on is closed and every process it started is gone."""
    wait_until(lambda: not any(map(port_open, ports.values())), 30, "every port closed")
    wait_until(lambda: not any(map(running, children)), 30, "every child process gone")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_make_run_streams_the_demo_county_serves_alerts_and_stops_cleanly(tmp_path, stop_signal):
    offset = (LOGS / "make-run.log").stat().st_size if (LOGS / "make-run.log").exists() else 0
    process, ports, log = start_make_run(tmp_path)
    api, ingest = f"http://127.0.0.1:{ports['api']}", f"http://127.0.0.1:{ports['ingest']}"
    try:
        wait_until(lambda: said_ready(process, offset), 180, "make run saying it is ready")
        assert api_ready(api)
        assert (
            groups_holding_every_partition(f"127.0.0.1:{ports['kafka']}", tmp_path / "state") == {}
        )  # ready meant the groups were
        headers = admin_headers(api)
        wait_until(
            lambda: httpx.get(f"{api}/alerts", headers=headers).json()["total"] > 0, 120, "demo alerts appearing"
        )
        demo = httpx.get(f"{api}/alerts", headers=headers).json()["items"]
        assert all(a["region_name"].startswith(("元马镇 · ", "黄瓜园镇 · ", "羊街镇 · ")) for a in demo)  # named places

        raw = registration("E2E1", 9600, members=4)
        attributes = {k: v for k, v in raw.items() if k != "data"} | {"time": datetime.fromisoformat(raw["time"])}
        message = to_structured_event(CloudEvent(attributes=attributes, data=raw["data"]))
        sent = time.monotonic()
        response = httpx.post(
            f"{ingest}/events", content=message.body, headers={**message.headers, "authorization": "Bearer e2e-key"}
        )
        assert response.status_code == 202
        wait_until(
            lambda: httpx.get(f"{api}/alerts", params={"household_id": "E2E1"}, headers=headers).json()["total"] == 1,
            180,  # behind the demo's backlog on a busy machine; `make bench` measures the latency itself
            "the new household's alert",
        )
        print(f"alert visible {time.monotonic() - sent:.2f}s after acceptance under make run")
        alert = httpx.get(f"{api}/alerts", params={"household_id": "E2E1"}, headers=headers).json()["items"][0]
        assert alert["level"] == "red" and alert["reasons"][0]["code"] == "income_below_threshold"
        children = descendants(process.pid)
        assert any("java" in " ".join(child.cmdline()) for child in children)
    finally:
        if stop_signal == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        else:
            process.send_signal(signal.SIGTERM)  # `kill <pid of make>`
        wait_for_exit(process, log)
    assert_nothing_left(ports, children)


def test_make_run_stopped_while_it_waits_for_readiness_leaves_nothing_running(tmp_path):
    offset = (LOGS / "make-run.log").stat().st_size if (LOGS / "make-run.log").exists() else 0
    process, ports, log = start_make_run(tmp_path)
    try:

        def waiting() -> bool:
            """Every process started (honcho 2.0.0 stopped before it has seen them all fails: KeyError 'pid'), and
            the one waiting for every /readyz (its arguments: the ports it asks) running."""
            with (LOGS / "make-run.log").open("rb") as output:
                output.seek(offset)
                started = output.read().count(b" started (pid=")
            waiter = any(str(ports["scoring_metrics"]) in arguments(child) for child in descendants(process.pid))
            return started == len(PROCESSES) and waiter

        wait_until(waiting, 60, "make run waiting for readiness")
        children = descendants(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        wait_for_exit(process, log)
    assert_nothing_left(ports, children)
