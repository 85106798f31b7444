"""The alerts service alone on a preloaded scores topic: scores/s and CPU per 1,000 scores (issue 11 item 5).

`python -m bench.alerts_drain [--scores 50000] [--red 0.06]` starts its own Kafka and Redis on free ports, produces
the scores (one household each, `--red` of them red, the rest green, as a month's push looks to alerts), then starts
the alerts service on them and waits until its consumer group has committed the end of the topic. Prints the rate
from its first commit to the last, and the CPU seconds per 1,000 scores of the alerts process and of Redis.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from bench import clients
from bench.command import exit_with
from bench.usage import tree_cpu
from services.common import topics
from services.common.kafka_auth import client_options
from services.common.scores import Figures, Reason, Score
from tests.infra import Process, make_stack, start_kafka, start_redis, wait_until


def push(household: int, red: bool) -> Score:
    """One household's score of a monthly push: red below the line, else green."""
    reasons = [Reason(code="income_below_threshold", level="red", message_zh="原因", message_en="why", evidence={})]
    return Score(
        score_id=uuid.uuid4().hex,
        household_id=f"HAD{household:07d}",
        region_code=f"532328{101 + household % 20:03d}{household % 7 + 1:03d}",
        level="red" if red else "green",
        reasons=reasons if red else [],
        figures=Figures(
            members=4, income_12m=9600 if red else 48000, per_capita_income=2400 if red else 12000,
            months_reported=12, monitoring_line=8700, labourers=2,
        ),
        policy_version="2025.2",
        model_version=None,
        scoring_mode="rules_only",
        caused_by=[f"/bench#{household}"],
        event_time=datetime(2025, 3, 28, tzinfo=UTC),
        scored_at=datetime.now(UTC),
    )  # fmt: skip


def produce(bootstrap: str, topic: str, scores: int, red_share: float) -> None:
    """Every score onto the topic, keyed by household as scoring writes them."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, **client_options(), acks=1, linger_ms=20, batch_size=256 * 1024
    )
    every = max(1, round(1 / red_share)) if red_share else 0
    for n in range(scores):
        record = push(n, bool(every) and n % every == 0)
        producer.send(topic, record.to_json(), key=record.household_id.encode())
    producer.flush()
    producer.close()


def committed_total(admin: KafkaAdminClient, group: str, topic: str) -> int:
    """How many messages of the topic the group has committed."""
    found = clients.committed(admin, group, clients.partitions(admin, topic))
    return sum(max(0, offset) for offset in found.values())


def main(scores: int = 50_000, red: float = 0.06) -> int:
    """Run one measurement and print it as JSON."""
    workdir = Path(tempfile.mkdtemp(prefix="shouwang-alerts-drain-"))
    running: list[Process] = []
    try:
        kafka, bootstrap = start_kafka(workdir / "kafka")
        redis, redis_url = start_redis(workdir / "redis")
        running += [kafka, redis]
        topic, group = "scores.drain", f"drain-{uuid.uuid4().hex[:6]}"
        topics.ensure_topics(bootstrap, 6, [NewTopic(topic, 6, 1)])
        started = time.monotonic()
        produce(bootstrap, topic, scores, red)
        print(f"produced {scores} scores in {time.monotonic() - started:.1f}s", flush=True)
        stack = make_stack(bootstrap, redis_url, workdir / "scoring")
        alerts = stack.start("alerts", SCORES_TOPIC=topic, ALERTS_GROUP_ID=group, LOG_LEVEL="WARNING")
        running.append(alerts)
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
        wait_until(lambda: committed_total(admin, group, topic) > 0, 120, "the first commit")
        first, first_at = committed_total(admin, group, topic), time.monotonic()
        cpu_alerts, cpu_redis = tree_cpu(alerts.popen.pid), tree_cpu(redis.popen.pid)
        wait_until(lambda: committed_total(admin, group, topic) >= scores, 3600, "the alerts service to drain")
        seconds = time.monotonic() - first_at
        drained = scores - first
        result = {
            "scores": scores,
            "red_share": red,
            "measured_scores": drained,
            "seconds": round(seconds, 2),
            "scores_per_s": round(drained / seconds, 1),
            "alerts_cpu_s_per_1000": round((tree_cpu(alerts.popen.pid) - cpu_alerts) / drained * 1000, 3),
            "redis_cpu_s_per_1000": round((tree_cpu(redis.popen.pid) - cpu_redis) / drained * 1000, 3),
        }
        admin.close()
        print(json.dumps(result), flush=True)
        return 0
    finally:
        for process in reversed(running):
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    exit_with(main)
