"""Cluster drills: three Kafka nodes (replication factor 3, min.insync.replicas 2), two scoring workers and two alerts
processes, a model active, a county pushed through ingest. A broker killed, all three restarted in turn, two down at
once, Redis killed; after each, nothing accepted is lost or doubled, every webhook is delivered, no group is stuck."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis
from kafka import KafkaProducer

from bench import clients
from services.common import topics
from services.common.identity import pseudonymise
from services.common.kafka_auth import client_options
from services.common.model_activation import Activation
from services.ingest.household_regions import REGIONS_KEY
from services.scoring.model import ModelRegistry, RiskModel, activation_message
from tests import infra
from tests.clients import login, post_batch
from tests.cluster import KafkaCluster, kafka_cluster
from tests.drills.test_effects import TOWNSHIP, households_with_alerts, raised, wait_until_seen
from tests.drills.test_faults import CATCH_UP, Load, drill
from tests.infra import Server, Stack, free_port, make_stack, wait_until
from tests.integration.test_workflow_notifications import SECRET, Receiver
from tests.models import train_toy_model
from tests.recovery import alert_problems, uninterrupted_figures, wait_for_figures

pytestmark = pytest.mark.drills

HOUSEHOLDS = 150  # 1,950 events a drill: a push still running while brokers go and come back
PACE = 0.5  # seconds between batches of 40 events
TWO_DOWN = 15.0  # seconds two brokers stay down: longer than ingest's wait for acknowledgements (5 s here)
GROUPS = {"shouwang-scoring": topics.CANONICAL, "shouwang-alerts": topics.SCORES}


@dataclass
class County:
    """The county's stack on the cluster, its Redis, the model in use and a webhook receiver subscribed to it."""

    stack: Stack
    cluster: KafkaCluster
    redis: Server
    redis_dir: Path
    model: RiskModel
    receiver: Receiver


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[County]:
    """The cluster, a Redis, ingest, two scoring workers, two alerts processes, api and jobs, the model active."""
    folder = tmp_path_factory.mktemp("cluster")
    cluster, redis = kafka_cluster(folder / "kafka"), infra.redis_server(folder / "redis")
    stack = make_stack(cluster.address, redis.address, folder / "scoring")
    stack.env.update(KAFKA_REPLICATION_FACTOR="3", KAFKA_MIN_INSYNC_REPLICAS="2", INGEST_PUBLISH_SECONDS="5")
    receiver = Receiver(free_port())
    try:
        cluster.start()
        redis.start()
        stack.start("ingest")
        stack.start("scoring")
        stack.start("scoring-2", "scoring", SCORING_DATA_DIR=str(folder / "scoring-2"))
        stack.start("alerts")
        stack.start("alerts-2", "alerts")
        stack.start("api")
        stack.start("jobs")
        model = activate_model(stack)
        url = f"http://127.0.0.1:{receiver.server.server_port}/hook"
        body = {"region_prefix": TOWNSHIP, "url": url, "secret": SECRET}
        assert httpx.post(f"{stack.api_url}/subscriptions", json=body, headers=login(stack)).status_code == 201
        yield County(stack, cluster, redis, folder / "redis", model, receiver)
    finally:
        stack.stop_all()
        receiver.close()
        redis.stop()
        cluster.stop_all()


def activate_model(stack: Stack) -> RiskModel:
    """Register and activate a model; return it once both scoring workers use it."""
    folder = Path(stack.env["MODEL_DIR"])
    manifest = train_toy_model(folder, "drills-1")
    logged = {name: stack.log_size(name) for name in ("scoring", "scoring-2")}
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, **client_options(), acks="all")
    producer.send(topics.MODEL_ACTIVATIONS, activation_message(manifest, "drills", datetime.now(UTC))).get(30)
    producer.close()
    for name, offset in logged.items():
        stack.wait_for_log(name, "(activated by drills)", offset)
    activation = Activation(
        version=manifest.version, sha256=manifest.sha256, activated_by="drills", activated_at=datetime.now(UTC)
    )
    model = ModelRegistry(folder).load(activation)
    assert model is not None
    return model


def stuck_groups(stack: Stack) -> dict[str, int]:
    """Each consumer group with events still not committed, and how many (none once every group has caught up)."""
    admin = clients.admin(stack)
    try:
        behind = {}
        for group, topic in {
            **GROUPS,
            "shouwang-alerts-projector": stack.env.get("ALERTS_CHANGES_TOPIC", topics.ALERT_CHANGES),
        }.items():
            end = clients.end_offsets(admin, topic)
            committed = clients.committed(admin, group, list(end))
            behind[group] = sum(end[tp] - committed[tp] for tp in end)
        return {group: lag for group, lag in behind.items() if lag}
    finally:
        admin.close()


def repeated_changes(stack: Stack, prefix: str) -> list[str]:
    """Alerts of the county's households whose history holds a change of a score twice (each must be there once)."""
    headers, repeated = login(stack), []
    for household in households_with_alerts(stack, prefix):
        page = httpx.get(f"{stack.api_url}/alerts", params={"household_id": household}, headers=headers).json()
        for item in page["items"]:
            alert = httpx.get(f"{stack.api_url}/alerts/{item['id']}", headers=headers).json()
            entries = [(entry["change"], entry["score_id"]) for entry in alert["history"] if entry.get("score_id")]
            if len(entries) != len(set(entries)):
                repeated.append(household)
    return repeated


def cluster_drill(
    county: County, record_property, prefix: str, fault, restart, down: float = 2.0, people: bool = False
) -> Load:
    """The fault drill (tests/drills/test_faults.py) on the cluster, then: no group stuck, every alert change once,
    every alert delivered by webhook (a repeat only under the same webhook-id, with the same body)."""
    stack = county.stack
    load = drill(stack, record_property, prefix, fault, restart, HOUSEHOLDS, PACE, down, county.model, people)
    wait_until(lambda: not stuck_groups(stack), CATCH_UP, "every consumer group committing to the end")
    assert repeated_changes(stack, prefix) == []
    expected = households_with_alerts(stack, prefix)
    missing = wait_until_seen(expected, lambda: raised(county.receiver.changes(), prefix), CATCH_UP)
    assert expected and missing == set(), f"{len(missing)} alerts never delivered by webhook"
    by_id: dict[str, bytes] = {}
    for headers, content in county.receiver.received:
        assert by_id.setdefault(headers["webhook-id"], content) == content
    return load


def test_the_broker_leading_most_partitions_killed_mid_push_loses_nothing(county, record_property):
    cluster = county.cluster
    leader = cluster.leaders().most_common(1)[0][0]
    record_property("killed_node", leader)
    cluster_drill(
        county, record_property, "HCK", lambda: cluster.stop(leader, signal.SIGKILL), lambda: cluster.restart(leader)
    )
    cluster.wait_fully_replicated()


def test_a_rolling_restart_of_the_three_brokers_mid_push_loses_nothing(county, record_property):
    cluster = county.cluster

    def rolling_restart() -> None:
        for node in (1, 2, 3):  # as an upgrade does: one at a time, the next once every replica is back in sync
            cluster.stop(node)  # SIGTERM: a controlled shutdown hands its partitions' leadership over first
            cluster.restart(node)
            cluster.wait_fully_replicated()

    cluster_drill(county, record_property, "HCR", rolling_restart, lambda: None, down=0)


def test_two_brokers_down_at_once_make_ingest_answer_503_until_one_is_back_and_lose_nothing(county, record_property):
    cluster = county.cluster
    first, second = (node for node, _ in cluster.leaders().most_common(2))
    window: dict[str, float] = {}

    def two_down() -> None:
        cluster.stop(first, signal.SIGKILL)
        cluster.stop(second, signal.SIGKILL)
        window["down"] = time.monotonic()

    def one_back() -> None:
        window["back"] = time.monotonic()
        cluster.restart(first)

    load = cluster_drill(county, record_property, "HC2", two_down, one_back, down=TWO_DOWN)
    cluster.restart(second)
    cluster.wait_fully_replicated()
    meanwhile = [
        status for sent, answered, status in load.attempts if window["down"] <= sent and answered <= window["back"]
    ]
    record_property("answers_while_two_down", len(meanwhile))
    assert meanwhile and set(meanwhile) == {503}, (
        f"while two brokers were down ingest answered {sorted(set(meanwhile))}"
    )


def test_redis_killed_mid_push_with_its_last_second_lost_is_made_whole_by_alerts_and_a_resend_to_ingest(
    county, record_property
):
    stack, server = county.stack, county.redis
    logged = {name: stack.log_size(name) for name in ("alerts", "alerts-2")}
    lost: list[bytes] = []  # the end of the append-only file a machine crash would have lost

    def crash() -> None:
        """kill -9, and lose what a machine crash loses with appendfsync everysec: the last second's writes (a killed
        process alone loses nothing Redis has answered: its writes reach the kernel before its replies)."""
        aof = newest_aof(county.redis_dir)
        second_ago = aof.stat().st_size
        time.sleep(1.0)
        server.stop(signal.SIGKILL)
        with aof.open("r+b") as log:
            log.seek(second_ago)
            lost.append(log.read())
            log.truncate(second_ago)  # perhaps mid-command: Redis loads what is whole (aof-load-truncated)
        record_property("redis_bytes_lost", len(lost[0]))

    load = cluster_drill(county, record_property, "HCD", crash, server.start, people=True)
    lines = [line for name, offset in logged.items() for line in log_since(name, offset).splitlines()]
    gone_back = sum("lost its last writes" in line for line in lines)
    record_property("alerts_consumers_gone_back", gone_back)  # positions Redis no longer held: applied again
    if b"alerts:positions" in lost[0]:
        assert gone_back > 0, "Redis lost alerts' positions but no consumer went back"

    # Ingest's duplicate marks and index entries of the lost second: the department sends its push again.
    events = [event for batch in load.batches for event in batch]
    answers: Counter[str] = Counter()
    for start in range(0, len(events), 40):
        response = post_batch(stack, events[start : start + 40])
        assert response.status_code == 207
        answers.update(result["status"] for result in response.json()["results"])
    record_property("accepted_again", answers["accepted"])  # their marks were lost with Redis's last second
    assert set(answers) <= {"accepted", "duplicate"}
    expected = uninterrupted_figures(events, county.model)
    assert wait_for_figures(stack, expected, CATCH_UP) == expected  # an event applied again counts once
    assert alert_problems(stack, expected) == []
    assert index_gaps(stack, county.redis.address, events) == []


def newest_aof(folder: Path) -> Path:
    """Redis's append-only file being written (the incremental part with the highest sequence number)."""
    parts = (folder / "appendonlydir").glob("*.incr.aof")
    return max(parts, key=lambda part: int(part.name.split(".")[-3]))


def log_since(name: str, offset: int) -> str:
    """What the process `name` logged after `offset` bytes."""
    with (infra.LOGS / f"{name}.log").open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def index_gaps(stack: Stack, redis_url: str, events: list[dict]) -> list[str]:
    """Registered households missing from ingest's person index or household regions."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    key = stack.env["PSEUDONYM_KEY"].encode()
    try:
        gaps = []
        for event in events:
            if event["type"] == "household.registered":
                household, head = event["data"]["household_id"], event["data"]["head_id"]
                if client.get(f"ingest:person:{pseudonymise(head, key)}") != household:
                    gaps.append(f"{household}: person index")
                if not client.hexists(REGIONS_KEY, household):
                    gaps.append(f"{household}: region")
        return gaps
    finally:
        client.close()
