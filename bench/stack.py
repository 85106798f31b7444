"""The bench's own Kafka, Redis and services on free ports (tests.infra), stopped whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psutil

import tests.infra as infra
from bench.usage import Usage
from tests.infra import Process, Stack, make_stack, start_kafka, start_redis

RESULTS = Path(__file__).resolve().parent / "results"
LOGS = RESULTS / "logs"


class BenchStack:
    """Kafka, Redis and the services for one bench run, each watched for memory and CPU."""

    def __init__(self, usage: Usage):
        self.usage = usage
        self.workdir = Path(tempfile.mkdtemp(prefix="shouwang-bench-"))
        self.infra: dict[str, Process] = {}  # kafka, redis
        self.stack: Stack | None = None
        # tests.infra writes logs under its LOGS: keep the bench's apart from the test sessions'.
        infra.ARTIFACTS, infra.LOGS = RESULTS, LOGS
        LOGS.mkdir(parents=True, exist_ok=True)
        for old in LOGS.glob("*.log"):
            old.unlink()

    @property
    def services(self) -> Stack:
        """The configured services (after `start_infra`)."""
        assert self.stack is not None, "start_infra first"
        return self.stack

    def start_infra(self) -> None:
        """Start Kafka and Redis on free ports and configure the services."""
        kafka, bootstrap = start_kafka(self.workdir / "kafka")
        self._keep("kafka", kafka)
        redis, redis_url = start_redis(self.workdir / "redis")
        self._keep("redis", redis)
        self.stack = make_stack(bootstrap, redis_url, self.workdir / "scoring")
        self.stack.env["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "INFO")

    def start(self, name: str, **env: str) -> Process:
        """Start (or restart) one service with extra environment; waits for readiness of HTTP services."""
        self.stop(name)
        self.services.env.update(env)
        return self.start_instance(name, name)

    def start_instance(self, name: str, service: str, **env: str) -> Process:
        """Start one more instance of a service (e.g. a second scoring worker) as `name`, `env` for it alone."""
        process = self.services.start(name, service, wait=service != "scoring", **env)  # scoring: the bench waits
        self.usage.watch(name, process.popen.pid)
        return process

    def stop(self, name: str) -> None:
        """Stop a process the bench started (not reported as exited), if it runs."""
        process = self.services.processes.pop(name, None)
        if process is not None:
            process.stop()

    def model_dir(self) -> Path:
        """Where the services keep their model registry."""
        return Path(self.services.env["MODEL_DIR"])

    def log_offset(self, name: str) -> int:
        """Current size of a service's log, to read only what it writes next."""
        path = LOGS / f"{name}.log"
        return path.stat().st_size if path.exists() else 0

    async def wait_for_log(self, name: str, text: str, offset: int, seconds: float) -> float:
        """Wait until `text` appears in the service's log past `offset`; returns time.monotonic() then."""
        deadline = time.monotonic() + seconds
        path = LOGS / f"{name}.log"
        while time.monotonic() < deadline:
            if path.exists():  # a process just started may not have opened its log yet
                with path.open("rb") as log:
                    log.seek(offset)
                    if text.encode() in log.read():
                        return time.monotonic()
            self.check_alive(name)
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{name} did not log {text!r} within {seconds}s (see {path})")

    def exited(self) -> dict[str, int]:
        """Exit codes of the processes that have stopped although the bench did not stop them."""
        running = {**self.infra, **(self.stack.processes if self.stack else {})}
        return {name: code for name, process in running.items() if (code := process.popen.poll()) is not None}

    def check_alive(self, name: str) -> None:
        process = self.services.processes.get(name)
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.popen.returncode} (see {LOGS / name}.log)")

    def close(self) -> None:
        """Stop services, then Redis and Kafka, then any child left over from an interrupted start."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan anything
        try:
            if self.stack is not None:
                for process in self.stack.processes.values():
                    with contextlib.suppress(Exception):
                        process.stop()
            for process in reversed(self.infra.values()):
                with contextlib.suppress(Exception):
                    process.stop()
            _stop_leftover_children()
            shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous)

    def _keep(self, name: str, process: Process) -> None:
        self.infra[name] = process
        self.usage.watch(name, process.popen.pid)


def _stop_leftover_children() -> None:
    """Stop the process groups this process started (tests.infra makes each child a group leader)."""
    for child in psutil.Process().children():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(20)
    for child in psutil.Process().children():
        with contextlib.suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getpgid(child.pid) == child.pid:
                os.killpg(child.pid, signal.SIGKILL)
