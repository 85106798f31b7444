"""Real infrastructure for tests: a Kafka broker, Redis and the four services, on free ports."""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from services.common import kafka_acls
from services.common.kafka_acls import Names
from services.common.kafka_provision import ProvisionSettings, admin_client, grant, provision

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
# Service logs; under pytest-xdist each worker runs its own broker and services, so each keeps its own folder.
LOGS = ARTIFACTS / "logs" / os.environ.get("PYTEST_XDIST_WORKER", "")
# The brokers authenticate every client (SCRAM) and authorise it by the ACLs of services/common/kafka_acls.py, as in
# production: each service the tests start runs as its own principal; the tests' own clients (and the service code
# they call in-process) run as the admin super user, through the environment of this process (KAFKA_USERNAME).
KAFKA_ADMIN_PASSWORD = secrets.token_hex(16)
KAFKA_PASSWORDS = {name: secrets.token_hex(16) for name in (*kafka_acls.SERVICES, kafka_acls.UPSTREAM)}
os.environ.update(KAFKA_USERNAME=kafka_acls.ADMIN, KAFKA_PASSWORD=KAFKA_ADMIN_PASSWORD)
os.environ.pop("KAFKA_SSL_CAFILE", None)


LISTENING_PORTS = range(20000, 32768)  # below Linux's default range for outgoing connections (32768-60999)


def _outgoing_ports() -> range:
    """The kernel's range of ports for outgoing connections (ip_local_port_range)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        return range(32768, 61000)
    return range(int(low), int(high) + 1)


def free_port() -> int:
    """A TCP port nobody listens on right now, outside the range the kernel gives outgoing connections: a process
    restarted on its port (a broker, a scoring worker's probes) never finds it taken by some client's socket."""
    outgoing = _outgoing_ports()
    choices = [port for port in LISTENING_PORTS if port not in outgoing]
    for port in secrets.SystemRandom().sample(choices, min(len(choices), 200)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # no such port free (or the kernel's range covers them all): any free one
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `check` until true; fail the test with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not happen within {seconds}s")


@dataclass
class Process:
    """A child process in its own process group, its output in a log file under test-artifacts/."""

    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Signal the whole group and wait; SIGKILL if it will not go."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self.log.close()

    def kill(self) -> None:
        """kill -9, as in a crash."""
        self.stop(signal.SIGKILL)


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the test session dies, so a killed pytest leaves no broker behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
    """Start a process group from the repo root, logging to test-artifacts/logs/<name>.log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{name}.log").open("ab")
    popen = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    return Process(name, popen, log)


@dataclass
class Server:
    """Kafka or Redis as the tests run it: stopped and started again on the same ports and data dir."""

    name: str
    args: list[str]
    port: int
    address: str
    seconds: float
    process: Process | None = None
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], None] | None = None  # run once, at the first start (Kafka: its topics, users and ACLs)

    def start(self) -> Process:
        """Start the server and wait until it accepts connections."""
        process = self.launch()
        self.wait()
        if self.ready is not None:
            self.ready()
            self.ready = None  # a restart keeps them (and the grants tests added for their own names)
        return process

    def launch(self) -> Process:
        """Start the server without waiting (a cluster's nodes answer only once a quorum of them runs)."""
        self.process = spawn(self.name, self.args, self.env)
        return self.process

    def wait(self) -> None:
        """Wait until the server accepts connections."""
        wait_until(lambda: port_open(self.port), self.seconds, f"{self.name} accepting connections")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the running server (a clean shutdown unless `sig` says otherwise)."""
        if self.process is not None:
            self.process.stop(sig)


def kafka_server(data_dir: Path) -> Server:
    """The real broker (KRaft) on free ports, not started yet."""
    port, controller = free_port(), free_port()
    args = [str(ROOT / "deploy/local/kafka.sh"), "run", str(port), str(controller), str(data_dir)]
    address = f"127.0.0.1:{port}"
    env = {"KAFKA_ADMIN_PASSWORD": KAFKA_ADMIN_PASSWORD}
    return Server("kafka", args, port, address, 90, env=env, ready=lambda: provision_kafka(address))


def provision_settings(bootstrap: str, replicas: int = 1, min_insync: int = 1) -> ProvisionSettings:
    """The admin's provisioning of the tests' brokers: every principal with its password of this session."""
    fields: dict[str, Any] = {f"kafka_{name}_password": SecretStr(secret) for name, secret in KAFKA_PASSWORDS.items()}
    fields |= {"kafka_replication_factor": replicas, "kafka_min_insync_replicas": min_insync}
    fields |= {"kafka_username": kafka_acls.ADMIN, "kafka_password": SecretStr(KAFKA_ADMIN_PASSWORD)}
    return ProvisionSettings(kafka_bootstrap_servers=bootstrap, **fields)


def provision_kafka(bootstrap: str, replicas: int = 1, min_insync: int = 1) -> None:
    """Topics, the principals and their ACLs (the table's), as `make run` makes them."""
    provision(provision_settings(bootstrap, replicas, min_insync))


def kafka_login(principal: str) -> dict[str, str]:
    """The environment a process needs to connect to the tests' brokers as `principal`."""
    password = KAFKA_ADMIN_PASSWORD if principal == kafka_acls.ADMIN else KAFKA_PASSWORDS[principal]
    return {"KAFKA_USERNAME": principal, "KAFKA_PASSWORD": password}


def grant_names(bootstrap: str, principal: str, names: Names) -> None:
    """Add the ACLs `principal` needs under other topic or group names than the defaults (tests run private ones)."""
    if names == Names():
        return
    admin = admin_client(bootstrap)
    try:
        grant(admin, principal, kafka_acls.grants_of(principal, names))
    finally:
        admin.close()


def redis_server(data_dir: Path, maxmemory: str | None = None) -> Server:
    """redis-server with AOF and a password of its own (as `make run` starts it) on a free port, not started yet;
    its address names the password (the tests' own clients), the services get it apart (REDIS_PASSWORD);
    `maxmemory` (e.g. `4gb`) instead of redis.sh's default."""
    port, password = free_port(), secrets.token_hex(16)
    args = [str(ROOT / "deploy/local/redis.sh"), "run", str(port), str(data_dir)]
    env = {"REDIS_PASSWORD": password} | ({"REDIS_MAXMEMORY": maxmemory} if maxmemory else {})
    return Server("redis", args, port, f"redis://:{password}@127.0.0.1:{port}/0", 30, env=env)


def start_kafka(data_dir: Path) -> tuple[Process, str]:
    """The real broker (KRaft) on free ports; returns the process and its bootstrap address."""
    server = kafka_server(data_dir)
    return server.start(), server.address


def start_redis(data_dir: Path, maxmemory: str | None = None) -> tuple[Process, str]:
    """redis-server with AOF on a free port (`maxmemory` as in `redis_server`); returns the process and its URL."""
    server = redis_server(data_dir, maxmemory)
    return server.start(), server.address


@dataclass
class Stack:
    """The four services running against the test session's Kafka and Redis."""

    bootstrap: str
    redis_url: str
    env: dict[str, str]
    ingest_url: str
    api_url: str
    ingest_key: str
    admin_password: str
    processes: dict[str, Process] = field(default_factory=dict)
    probe_ports: dict[str, int] = field(default_factory=dict)  # scoring and alerts processes: /readyz, /metrics
    recipes: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # name: service, its own env

    def start(self, name: str, service: str | None = None, wait: bool = True, **env: str) -> Process:
        """(Re)start ingest, scoring, alerts, api or jobs as `name` (another instance: `service`), `env` added; with
        `wait`, until it is ready (/readyz; scoring and alerts: holding their groups' partitions)."""
        service = service or name
        env = {**kafka_login(service), **env}  # each service its own Kafka principal (a test may give another)
        grant_names(self.bootstrap, env["KAFKA_USERNAME"], Names.from_env({**self.env, **env}))
        if service in _PROBE_PORTS:  # each scoring and alerts process serves its probes on a port of its own
            variable = _PROBE_PORTS[service]
            self.probe_ports[name] = int(env.get(variable) or self.probe_ports.get(name) or free_port())
            env = {**env, variable: str(self.probe_ports[name])}
        process = spawn(name, [sys.executable, "-m", f"services.{service}"], {**self.env, **env})
        self.processes[name], self.recipes[name] = process, (service, env)
        if wait and service != "jobs":
            wait_until(lambda: _ready(self.url_of(name)), 90, f"{name} ready")
        return process

    def revive(self) -> None:
        """Start again, as it was started, every process that has exited (as its supervisor would)."""
        for name, process in list(self.processes.items()):
            if process.popen.poll() is not None:
                service, env = self.recipes[name]
                self.start(name, service, True, **env)

    def running(self) -> list[str]:
        """The names of the processes that have not exited."""
        return [name for name, process in self.processes.items() if process.popen.poll() is None]

    def url_of(self, name: str) -> str:
        """Where the process `name` answers /readyz (ingest and api: their HTTP address)."""
        if name in self.probe_ports:
            return f"http://127.0.0.1:{self.probe_ports[name]}"
        return self.ingest_url if name.startswith("ingest") else self.api_url

    def run_alerts_rebuild(self) -> subprocess.CompletedProcess[str]:
        """`python -m services.alerts rebuild` with the stack's settings (stop alerts and api first)."""
        command = [sys.executable, "-m", "services.alerts", "rebuild"]
        env = {**os.environ, **self.env, **kafka_login("alerts")}
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

    def rebuild_alerts(self) -> None:
        """Stop alerts and api, rebuild the alerts' Redis from Kafka (it must succeed), start both again."""
        for name in ("alerts", "api"):
            self.processes[name].stop()
        done = self.run_alerts_rebuild()
        assert done.returncode == 0, done.stderr
        self.start("alerts")
        self.start("api")

    def log_size(self, name: str) -> int:
        """How much `name` has logged so far (to wait for what it logs next)."""
        path = LOGS / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    def wait_for_log(self, name: str, text: str, offset: int, seconds: float = 120) -> None:
        """Wait until `name` logs `text` after `offset` bytes of its log."""

        def logged() -> bool:
            with (LOGS / f"{name}.log").open("rb") as log:
                log.seek(offset)
                return text.encode() in log.read()

        wait_until(logged, seconds, f"{name} logging {text!r}")

    def stop_all(self) -> None:
        """Stop every service."""
        for process in self.processes.values():
            process.stop()


_PROBE_PORTS = {"scoring": "SCORING_METRICS_PORT", "alerts": "ALERTS_METRICS_PORT"}


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def make_stack(bootstrap: str, redis_url: str, scoring_dir: Path) -> Stack:
    """Configure (not start) the services on free ports with fresh secrets."""
    ingest_port, api_port = free_port(), free_port()
    key, password = "test-ingest-key", "test-bootstrap-passphrase"
    mappings = scoring_dir / "mappings"  # the department mappings, where a test may add one of its own
    shutil.copytree(ROOT / "deploy" / "mappings", mappings, dirs_exist_ok=True)
    address = urlsplit(redis_url)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "REDIS_URL": urlunsplit(address._replace(netloc=address.netloc.rpartition("@")[2])),
        "REDIS_PASSWORD": address.password or "",
        "INGEST_PORT": str(ingest_port),
        "API_PORT": str(api_port),
        "PSEUDONYM_KEY": "test-pseudonym-key-0123456789abcdef",
        "JWT_SECRET": "test-jwt-secret-0123456789abcdef0123456789",
        "ADMIN_PASSWORD": password,
        "INGEST_API_KEYS": f"{key}=/,civil-key=/civil-affairs,county-key=/civil-affairs@532328|532399,"
        "beijing-key=/civil-affairs@1101,yuanmou-key=/@532328",
        "SCORING_DATA_DIR": str(scoring_dir),
        "MODEL_DIR": str(scoring_dir / "models"),
        "IMPORT_DIR": str(scoring_dir / "imports"),
        "IMPORT_MAPPINGS_DIR": str(mappings),
        "INGEST_URL": f"http://127.0.0.1:{ingest_port}",
        "JOBS_INGEST_KEY": key,
        "JOBS_SWEEP_SECONDS": "1",
        "JOBS_HEARTBEAT_SECONDS": "3",
        "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",  # the tests' receivers listen on loopback: allowed explicitly
        "REGIONS_IMPORT_DIR": str(scoring_dir / "regions"),
        "EVALUATION_DIR": str(scoring_dir / "evaluations"),
        "WEBHOOK_SECRET_KEY": "test-webhook-secret-key-0123456789abcdef",
        "EVALUATION_WAIT_SECONDS": "240",  # the evaluation tests wait for the summary on a busy machine
        # Every test logs in from 127.0.0.1, and the OpenAPI fuzzing alone fails ~50 logins there: the per-address
        # allowance (its own test runs a strict API) must not make the rest of a worker's session wait.
        "LOGIN_MAX_FAILURES_PER_CLIENT": "100000",
    }
    return Stack(
        bootstrap, redis_url, env, f"http://127.0.0.1:{ingest_port}", f"http://127.0.0.1:{api_port}", key, password
    )
