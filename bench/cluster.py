"""The county push on a three-broker cluster (replication factor 3, min.insync.replicas 2, every producer acks=all)
next to the same push on the single broker, in the same run: cluster_* figures and their ratio to the single broker.

The cluster runs beside the bench's single broker (tests/cluster.py: 3 KRaft nodes, each broker and controller,
384 MB heaps); ingest, one scoring worker and alerts of their own use it, on the same Redis server (database 1), with
the bench model active. The single broker's figures are the push phase's (`push_model_*`) when it ran, else this phase
pushes the same county through the single broker first.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from bench import models, push, push_events
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import rounded
from tests.cluster import kafka_cluster
from tests.infra import make_stack

NODES = ("kafka-1", "kafka-2", "kafka-3")
PROCESSES = ("ingest", "scoring", "alerts", "redis", *NODES)
PHASES = ("registrations", "month")


async def county_push(bench: BenchStack, tag: str, knobs: Knobs, processes: tuple[str, ...]) -> dict[str, Any]:
    """The push phase's county (registrations, then a month) with the bench model and one scoring worker."""
    models.activate(bench)
    scoring_app, alerts_group = await push.start(bench, tag, 1)
    pairs = push.groups(scoring_app, alerts_group)
    drain = knobs.drain_seconds + knobs.push_households / 50
    details: dict[str, Any] = {}
    for phase, events in (
        ("registrations", push_events.registrations(f"P{tag}", knobs.push_households, knobs.townships)),
        ("month", push_events.month(f"P{tag}", knobs.push_households, knobs.townships)),
    ):
        details[phase] = await push.run_phase(bench, events, pairs, drain, processes)
    return details


def on_cluster(bench: BenchStack, bootstrap: str) -> BenchStack:
    """The bench with services of its own on the cluster (the same model registry, Redis database 1)."""
    clustered = copy.copy(bench)
    redis_url = bench.services.redis_url.rsplit("/", 1)[0] + "/1"
    clustered.stack = make_stack(bootstrap, redis_url, bench.workdir / "cluster-services")
    clustered.services.env.update(
        KAFKA_REPLICATION_FACTOR="3",
        KAFKA_MIN_INSYNC_REPLICAS="2",
        MODEL_DIR=bench.services.env["MODEL_DIR"],
        LOG_LEVEL=bench.services.env["LOG_LEVEL"],
    )
    return clustered


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """cluster_* figures: the push on three brokers, and its ratio to the single broker's."""
    models.ensure_trained(bench)
    single = {phase: results.figures.get(f"push_model_{phase}_events_per_s") for phase in PHASES}
    if None in single.values():
        say("cluster: the single broker's push first (the push phase did not run)")
        measured = await county_push(bench, f"single{int(time.time()) % 100000}", knobs, push.PROCESSES)
        single = {phase: measured[phase]["events_per_s"] for phase in PHASES}
    cluster = kafka_cluster(bench.workdir / "cluster")
    clustered = on_cluster(bench, cluster.address)
    try:
        cluster.start()
        for name, node in zip(NODES, cluster.nodes, strict=True):
            assert node.process is not None
            bench.usage.watch(name, node.process.popen.pid)
        for name in ("scoring", "scoring-2", "alerts"):  # the single broker's workers: nothing for them meanwhile
            bench.stop(name)
        clustered.start("ingest")
        details = await county_push(clustered, f"cluster{int(time.time()) % 100000}", knobs, PROCESSES)
    finally:
        for process in clustered.services.processes.values():
            process.stop()
        cluster.stop_all()
    for phase in PHASES:
        rate = details[phase]["events_per_s"]
        say(f"cluster push {phase}: {details[phase]}")
        results.put(f"cluster_{phase}_events_per_s", rate)
        results.put(
            f"cluster_vs_single_{phase}_ratio", rounded(rate / single[phase], 2) if rate and single[phase] else None
        )
    results.details["cluster"] = {**details, "single_events_per_s": single, "brokers": 3, "replication": [3, 2]}
