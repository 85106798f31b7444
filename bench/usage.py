"""Resource use of each process: peak RSS and CPU seconds sampled every half second, CPU also read per phase.

RSS is the service's own process (kafka.sh and redis.sh exec the server): adding forked children would
count Redis's copy-on-write AOF-rewrite child twice. CPU includes children.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

MB = 1024 * 1024
BENCH = "bench"  # the load generator itself (this process, without its children)


def _family(pid: int, tree: bool) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)] if tree else [root]
    except psutil.Error:
        return []


def tree_rss(pid: int, tree: bool = False) -> int:
    """RSS in bytes of a process (with `tree`, plus all its descendants); 0 once it has gone."""
    total = 0
    for process in _family(pid, tree):
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def tree_cpu(pid: int, tree: bool = True) -> float:
    """User + system CPU seconds of a process and (with `tree`) its descendants so far."""
    total = 0.0
    for process in _family(pid, tree):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class Usage:
    """A daemon thread keeping each watched process's peak RSS; CPU seconds are read on demand."""

    def __init__(self, interval: float = 0.5):
        self._interval = interval
        self._pids: dict[str, int] = {BENCH: os.getpid()}
        self._peak: dict[str, int] = {}
        self._cpu: dict[str, dict[int, float]] = {}  # name: pid: CPU seconds last read (kept once it has gone)
        self._since_mark: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="usage", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        """Sample `pid` under `name` from now on; a restarted service keeps its name."""
        with self._lock:
            self._pids[name] = pid

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def mark(self) -> None:
        """Start a new window for `peak_since_mark_mb`."""
        with self._lock:
            self._since_mark = {}

    def peaks_mb(self) -> dict[str, float]:
        """Peak RSS in MB per process name over the whole run."""
        with self._lock:
            return {name: round(rss / MB, 1) for name, rss in self._peak.items()}

    def peak_since_mark_mb(self, name: str) -> float | None:
        """Peak RSS in MB of one process since the last `mark`."""
        with self._lock:
            rss = self._since_mark.get(name)
        return None if rss is None else round(rss / MB, 1)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far under each name, by every process it has named (the bench without its children)."""
        self._read_cpu()
        with self._lock:
            return {name: sum(by_pid.values()) for name, by_pid in self._cpu.items()}

    def _read_cpu(self) -> None:
        with self._lock:
            pids = dict(self._pids)
        readings = {name: (pid, tree_cpu(pid, name != BENCH)) for name, pid in pids.items()}
        with self._lock:
            for name, (pid, seconds) in readings.items():
                by_pid = self._cpu.setdefault(name, {})
                by_pid[pid] = max(by_pid.get(pid, 0.0), seconds)  # 0 once gone: keep the last reading

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> None:
        """Take one RSS and CPU sample of every watched process (so a stopped one's CPU is not lost)."""
        self._read_cpu()
        with self._lock:
            pids = dict(self._pids)
        readings = {name: tree_rss(pid) for name, pid in pids.items()}
        with self._lock:
            for name, rss in readings.items():
                if rss:
                    self._peak[name] = max(self._peak.get(name, 0), rss)
                    self._since_mark[name] = max(self._since_mark.get(name, 0), rss)


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (neither idle nor waiting for I/O) since boot."""
    times = psutil.cpu_times()
    return float(sum(times)) - times.idle - getattr(times, "iowait", 0.0)


class CpuWindow:
    """CPU used by each process between its creation and `cores()`, in cores (CPU seconds per second).

    `machine` is the whole machine's busy cores and `others` what processes outside the bench used:
    on a shared machine a large `others` means the figures measured meanwhile are lower bounds.
    """

    def __init__(self, usage: Usage):
        self._usage = usage
        self._start = usage.cpu_seconds()
        self._machine = machine_busy_seconds()
        self._began = time.monotonic()

    def cores(self) -> dict[str, float]:
        """Average cores each process kept busy over the window (2.0 = both cores of a 2-core machine)."""
        wall = max(time.monotonic() - self._began, 1e-6)
        end = self._usage.cpu_seconds()
        used = {name: max(0.0, seconds - self._start.get(name, 0.0)) / wall for name, seconds in end.items()}
        machine = (machine_busy_seconds() - self._machine) / wall
        shares = {name: round(value, 2) for name, value in used.items()}
        return {**shares, "machine": round(machine, 2), "others": round(max(0.0, machine - sum(used.values())), 2)}
