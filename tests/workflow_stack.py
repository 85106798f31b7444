"""A second, workflow-configured stack for the alert workflow tests: its own Redis, change topic and policy.

Only the alerts service, the API and the jobs process (webhook deliveries) run; tests publish score records to the
stack's own scores topic themselves, so the workflow is exercised independently of the scoring rules. Durations are
seconds: region 532328 has a 3-second public notice; region 532399 has 3-second home-visit and 6-second decision
deadlines.
"""

from __future__ import annotations

import re
import secrets
import signal
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from services.common.kafka_auth import client_options
from services.common.scores import Figures, Level, Reason, Score
from services.common.settings import REPO_ROOT
from tests.infra import ROOT, Process, Stack, free_port, make_stack, port_open, spawn, wait_until

FAST_REGION = "532399101001"
_POLICY_VALUES = {
    "public_notice_min": "PT3S",
    "resolution_monitored_for": "PT1S",
}
_FAST_DEADLINES = (
    '\n[regions."532399"]\nhome_visit_within = "PT3S"\nidentification_within = "PT6S"\nreminder_before = "PT2S"\n'
)


def write_policy(folder: Path) -> Path:
    """A copy of the 2025 policy with second-long durations (see the module doc)."""
    text = (REPO_ROOT / "policy" / "2025.toml").read_text()
    for key, value in _POLICY_VALUES.items():
        text = re.sub(rf'^{key} = ".*"$', f'{key} = "{value}"', text, flags=re.M)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "2025.toml").write_text(text + _FAST_DEADLINES)
    return folder


@dataclass
class WorkflowStack:
    """The alerts service and API on a Redis of their own; `redis` can be restarted on the same port."""

    stack: Stack
    redis_port: int
    redis_dir: Path
    redis: Process
    scores_topic: str  # this stack's own: neither the session's scoring output nor another stack's scores reach it

    def publish(self, *scores: Score) -> None:
        """Produce score records to this stack's scores topic keyed by household, as scoring does."""
        producer = KafkaProducer(bootstrap_servers=self.stack.bootstrap, **client_options(), acks="all")
        for record in scores:
            producer.send(self.scores_topic, record.to_json(), key=record.household_id.encode())
        producer.flush()
        producer.close()

    def restart_redis(self) -> None:
        """Stop redis-server (SIGTERM, it writes its append-only file) and start it again on the same port."""
        self.redis.stop(signal.SIGTERM)
        self.redis = _redis(self.redis_port, self.redis_dir, self.stack.env["REDIS_PASSWORD"])

    def stop(self) -> None:
        """Stop the services and Redis."""
        self.stack.stop_all()
        self.redis.stop()


def _redis(port: int, folder: Path, password: str) -> Process:
    args = [str(ROOT / "deploy/local/redis.sh"), "run", str(port), str(folder)]
    process = spawn("redis-workflow", args, {"REDIS_PASSWORD": password})
    wait_until(lambda: port_open(port), 30, "Redis accepting connections")
    return process


def start_workflow_stack(bootstrap: str, folder: Path, **env: str) -> WorkflowStack:
    """Start Redis, create the change topic, then the alerts service and the API with the fast policy (and `env`)."""
    port, password = free_port(), secrets.token_hex(16)
    redis = _redis(port, folder / "redis", password)
    suffix = uuid.uuid4().hex[:8]
    topic, scores_topic = f"alerts.changes.{suffix}", f"scores.workflow.{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **client_options())
    admin.create_topics([NewTopic(name, 6, 1) for name in (topic, scores_topic)])
    admin.close()
    stack = make_stack(bootstrap, f"redis://:{password}@127.0.0.1:{port}/0", folder / "scoring")
    stack.env.update(
        {
            "POLICY_DIR": str(write_policy(folder / "policy")),
            "ALERTS_GROUP_ID": f"workflow-{suffix}",
            "ALERTS_CHANGES_TOPIC": topic,
            "SCORES_TOPIC": scores_topic,
            "ALERTS_DEADLINE_INTERVAL": "0.5",
            "WEBHOOK_BACKOFF": "0.2",
            "WEBHOOK_BACKOFF_MAX": "1",
            "WEBHOOK_TIMEOUT": "2",
            **env,
        }
    )
    for name in ("alerts", "api", "jobs"):
        stack.start(name)
    return WorkflowStack(stack, port, folder / "redis", redis, scores_topic)


def score(
    household_id: str,
    level: Level = "red",
    codes: tuple[str, ...] = ("income_below_threshold",),
    event_time: str = "2025-01-15T08:00:00+08:00",
    per_capita_income: float = 2400,
    region_code: str = "532328101001",
    labourers: int | None = 2,
) -> Score:
    """A score record as scoring would publish it."""
    reasons = [Reason(code=c, level=level, message_zh="原因", message_en="why", evidence={"x": 1}) for c in codes]
    return Score(
        score_id=f"{household_id}-{uuid.uuid4().hex[:12]}",
        household_id=household_id,
        region_code=region_code,
        level=level,  # type: ignore[arg-type]
        reasons=[] if level == "green" else reasons,
        figures=Figures(
            members=4,
            labourers=labourers,
            income_12m=per_capita_income * 4,
            per_capita_income=per_capita_income,
            months_reported=12,
            monitoring_line=8700,
        ),
        policy_version="2025.2",
        model_version=None,
        scoring_mode="rules_only",
        caused_by=["/test#1"],
        event_time=datetime.fromisoformat(event_time),
        scored_at=datetime.now(UTC),
    )


def poll(url: str, headers: dict[str, str], check: Any, seconds: float = 30, **params: Any) -> Any:
    """GET `url` until `check(body)` is truthy; returns the body."""
    body: Any = None

    def ready() -> bool:
        nonlocal body
        response = httpx.get(url, headers=headers, params=params)
        body = response.json() if response.status_code == 200 else None
        return body is not None and bool(check(body))

    wait_until(ready, seconds, f"GET {url} {params} to satisfy the check")
    return body
