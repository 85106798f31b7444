"""A scoring worker's death at scale: two workers with standbys hold N households (BENCH_FAILOVER_HOUSEHOLDS, default
1,000,000); while events arrive, one is killed -9, then both are restarted in turn (a rolling restart).

The households' states are written straight to the app's changelog (as the state phase does), both workers recover
them (each its actives and a standby copy of the other's), and events (a month's income for household after household)
are pushed at a steady rate throughout. Each figure is the seconds from the fault until every changelog partition the
fault stopped has been written again (scoring writes a household's state with every event it applies). At the end,
every pushed event must be applied once: each pushed household's latest state holds its pushed income, and the group
has committed every event.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench import clients, scoring, state
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from services.common import topics
from services.common.kafka_auth import client_options
from services.common.months import month_shift
from services.scoring.state import decode_state
from tests.factories import income
from tests.scaling import send

WORKERS = ("failover-1", "failover-2")
RATE = 1000  # events/s pushed throughout
SLICE = 50  # events a slice (RATE / SLICE slices a second)
PERIOD = "2025-03"  # the first month pushed: the states hold January 2024 to February 2025
SETTLE_SECONDS = 5.0  # of steady push before each fault, and after it
SAMPLE = 0.2  # seconds between samples of the changelog's end offsets
WAIT_SECONDS = 900.0  # longest wait for workers to recover or a fault to be over


class Push:
    """Income reports for one household after another, RATE a second, from a thread until stopped (after the last
    household, the next month for each again)."""

    def __init__(self, bootstrap: str, households: int):
        self.bootstrap, self.households = bootstrap, households
        self.sent: dict[tuple[str, str], float] = {}  # (household, month): the amount pushed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="failover-push", daemon=True)

    def start(self) -> None:
        """Begin pushing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop pushing (every event sent so far is on the broker)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(60)

    def _event(self, k: int) -> dict[str, Any]:
        household, month = f"SM{k % self.households:07d}", month_shift(PERIOD, k // self.households)
        return income(household, month, 100.0 + k % 997)

    def _run(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, **client_options(), acks="all", linger_ms=5)
        k = 0
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                batch = [self._event(n) for n in range(k, k + SLICE)]
                send(producer, batch)
                self.sent.update({(e["data"]["household_id"], e["data"]["period"]): e["data"]["amount"] for e in batch})
                k += SLICE
                self._stop.wait(max(0.0, SLICE / RATE - (time.monotonic() - began)))
        finally:
            producer.close()


def _ends(admin: Any, topic: str) -> dict[int, int]:
    return {tp.partition: offset for tp, offset in clients.end_offsets(admin, topic).items()}


class Progress:
    """The changelog's end offsets sampled every SAMPLE seconds: a partition that stops moving does not score."""

    def __init__(self, admin: Any, changelog: str):
        self.admin, self.changelog = admin, changelog
        self.samples: list[tuple[float, dict[int, int]]] = []

    async def run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), _ends(self.admin, self.changelog)))
            await asyncio.sleep(SAMPLE)

    def moved_since(self, moment: float) -> bool:
        """Every partition has been written after `moment`."""
        before = [ends for at, ends in self.samples if at <= moment]
        return bool(before) and all(self.samples[-1][1][p] > o for p, o in before[-1].items())

    def longest_stall(self, start: float) -> float:
        """The longest time a partition went unwritten from `start` on (the push writes every partition steadily)."""
        window = [(at, ends) for at, ends in self.samples if at >= start]
        worst = 0.0
        for p in window[0][1] if window else {}:
            since = window[0][0]
            for (at, ends), (_, previous) in zip(window[1:], window, strict=False):
                if ends[p] != previous[p]:
                    worst, since = max(worst, at - since), at
            worst = max(worst, window[-1][0] - since)  # still unwritten at the end of the window
        return round(worst, 1)


def _roles(bench: BenchStack, name: str) -> dict[int, dict[str, Any]]:
    url = bench.services.url_of(name)
    found = httpx.get(f"{url}/partitions/offsets", timeout=30).json()["households"]
    return {int(p): entry for p, entry in found.items()}


async def _standbys_caught_up(bench: BenchStack, admin: Any, changelog: str) -> None:
    """Wait until every partition is held active by one worker and as an up-to-date standby by the other."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        ends, held = _ends(admin, changelog), {name: _roles(bench, name) for name in WORKERS}
        standbys = {p: e["offset"] for roles in held.values() for p, e in roles.items() if e["role"] == "standby"}
        if set(standbys) == set(ends) and all((o or -1) >= ends[p] - 1 - RATE for p, o in standbys.items()):
            return
        await asyncio.sleep(1.0)
    raise TimeoutError(f"the standby copies did not catch up within {WAIT_SECONDS}s")


async def _start(bench: BenchStack, name: str, app_id: str) -> float:
    offset = bench.log_offset(name)
    folder = bench.workdir / f"{app_id}-{name}"
    bench.start_instance(name, "scoring", SCORING_APP_ID=app_id, SCORING_DATA_DIR=str(folder))
    return await bench.wait_for_log(name, scoring.WORKER_READY, offset, WAIT_SECONDS)


async def _step(bench: BenchStack, progress: Progress, fault: Callable[[], Any], admin: Any, changelog: str) -> float:
    """Once the push is steady, apply the fault (a coroutine function: awaited); wait until every partition is written
    again and any standby caught up; the longest a partition went unwritten meanwhile (seconds)."""
    await asyncio.sleep(SETTLE_SECONDS)
    faulted = time.monotonic()
    done = fault()
    if asyncio.iscoroutine(done):
        await done
    deadline = time.monotonic() + WAIT_SECONDS
    while not progress.moved_since(faulted) and time.monotonic() < deadline:
        await asyncio.sleep(SAMPLE)
    if len(bench.services.processes.keys() & set(WORKERS)) == len(WORKERS):
        await _standbys_caught_up(bench, admin, changelog)
    await asyncio.sleep(SETTLE_SECONDS)
    return progress.longest_stall(faulted)


def lost(bootstrap: str, changelog: str, since: dict[int, int], sent: dict[tuple[str, str], float]) -> list[str]:
    """Pushed (household, month)s whose household's latest state on the changelog (read from `since`) lacks the
    income pushed for that month."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, **client_options(), enable_auto_commit=False)
    latest: dict[str, bytes] = {}
    try:
        tps = [TopicPartition(changelog, p) for p in since]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, since[tp.partition])
        ends = consumer.end_offsets(tps)
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=2000).values():
                latest.update((json.loads(r.key), r.value) for r in records if r.value is not None)
    finally:
        consumer.close()
    missing = []
    for (household, month), amount in sent.items():
        found = latest.get(household)
        held = decode_state(found).incomes.get(f"{month}|wage") if found else None
        if held is None or held.amount != amount:
            missing.append(f"{household} {month}")
    return missing


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """failover_* figures: seconds from a kill -9 (and each step of a rolling restart) until every partition scores."""
    bench.stop("scoring")
    app_id = f"bench-failover-{int(time.time())}"
    changelog = f"{app_id}-households-changelog"
    written = await state.write_changelog(bench, changelog, state.changelog_records(knobs.failover_households, 50))
    say(f"failover: wrote {written}")
    admin = clients.admin(bench.services)
    push = Push(bench.services.bootstrap, knobs.failover_households)
    try:
        clients.position_group(admin, app_id, clients.end_offsets(admin, topics.CANONICAL))
        began = time.monotonic()
        ready = [await _start(bench, name, app_id) for name in WORKERS]
        await _standbys_caught_up(bench, admin, changelog)
        say(f"failover: both workers ready after {max(ready) - began:.0f}s, standbys caught up after "
            f"{time.monotonic() - began:.0f}s")  # fmt: skip
        since = _ends(admin, changelog)
        push.start()
        progress = Progress(admin, changelog)
        sampling = asyncio.ensure_future(progress.run())
        victim, survivor = WORKERS
        kill = await _step(bench, progress, lambda: bench.services.processes.pop(victim).kill(), admin, changelog)
        say(f"failover: kill -9 of {victim}: no partition went unwritten longer than {kill}s")
        results.put("failover_kill_seconds", kill)
        steps = {f"{victim} killed": kill}
        for name, fault in (
            (f"{victim} started again", lambda: _start(bench, victim, app_id)),
            (f"{survivor} stopped", lambda: bench.stop(survivor)),
            (f"{survivor} started again", lambda: _start(bench, survivor, app_id)),
        ):
            steps[name] = await _step(bench, progress, fault, admin, changelog)
            say(f"failover: rolling restart, {name}: longest a partition went unwritten {steps[name]}s")
        sampling.cancel()
        push.stop()
        missing = lost(bench.services.bootstrap, changelog, since, push.sent)
        say(f"failover: {len(push.sent)} events pushed, {len(missing)} of them not applied")
        results.put("failover_rolling_restart_worst_seconds", max(v for k, v in steps.items() if "killed" not in k))
        results.details["failover"] = {"households": written["households"], "pushed": len(push.sent),
                                       "lost": missing[:20], "steps": steps, "rate": RATE}  # fmt: skip
        if missing:
            raise AssertionError(f"{len(missing)} pushed households lack their event (e.g. {missing[:5]})")
    finally:
        push.stop()
        for name in WORKERS:
            bench.stop(name)
        admin.close()
