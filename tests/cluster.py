"""A three-node Kafka cluster (KRaft, each node broker and controller) on free ports, for the cluster drills and
the bench: nodes killed, stopped and started one by one on their own ports and data."""

from __future__ import annotations

import base64
import signal
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from kafka.admin import KafkaAdminClient

from services.common.kafka_auth import client_options
from tests.infra import KAFKA_ADMIN_PASSWORD, ROOT, Server, free_port, provision_kafka, wait_until

NODE_HEAP = "384m"  # three brokers beside the services on a 2-core, shared machine


@dataclass
class KafkaCluster:
    """The nodes (node id i + 1 is nodes[i]) and the bootstrap address naming every broker."""

    nodes: list[Server]

    @property
    def address(self) -> str:
        """KAFKA_BOOTSTRAP_SERVERS with every broker."""
        return ",".join(node.address for node in self.nodes)

    def start(self) -> None:
        """Start every node, then wait for each (a node answers once a quorum of controllers runs); then make the
        topics (as many replicas as nodes, at most 3; two in sync), the principals and their ACLs."""
        for node in self.nodes:
            node.launch()
        for node in self.nodes:
            node.wait()
        provision_kafka(self.address, min(3, len(self.nodes)), 2 if len(self.nodes) > 1 else 1)

    def stop(self, node_id: int, sig: int = signal.SIGTERM) -> None:
        """Stop node `node_id` (SIGTERM: a controlled shutdown, leadership handed over; SIGKILL: a crash)."""
        self.nodes[node_id - 1].stop(sig)

    def restart(self, node_id: int) -> None:
        """Start node `node_id` again on its ports and data; wait until it accepts connections."""
        self.nodes[node_id - 1].start()

    def stop_all(self) -> None:
        """Stop every node."""
        for node in self.nodes:
            node.stop()

    def admin(self) -> KafkaAdminClient:
        """An admin client of the cluster."""
        return KafkaAdminClient(bootstrap_servers=self.address, **client_options(), client_id="shouwang-cluster-tests")

    def leaders(self) -> Counter[int]:
        """How many partitions each node leads, over every topic."""
        admin = self.admin()
        try:
            described = admin.describe_topics()
        finally:
            admin.close()
        return Counter(p["leader_id"] for topic in described for p in topic["partitions"] if p["leader_id"] >= 0)

    def under_replicated(self) -> list[str]:
        """Partitions whose in-sync replicas are fewer than their replicas ("topic/partition")."""
        admin = self.admin()
        try:
            described = admin.describe_topics()
        finally:
            admin.close()
        return [
            f"{topic['name']}/{p['partition_index']}"
            for topic in described
            for p in topic["partitions"]
            if len(p["isr_nodes"]) < len(p["replica_nodes"])
        ]

    def wait_fully_replicated(self, seconds: float = 180) -> None:
        """Wait until every replica of every partition is in sync (as an upgrade waits before the next node)."""
        wait_until(lambda: not self.under_replicated(), seconds, "every partition fully replicated")


def kafka_cluster(data_dir: Path, size: int = 3) -> KafkaCluster:
    """`size` nodes on free ports with their data under `data_dir`, not started yet."""
    ports = [(free_port(), free_port()) for _ in range(size)]
    voters = ",".join(f"{n}@127.0.0.1:{controller}" for n, (_, controller) in enumerate(ports, start=1))
    cluster_id = _cluster_id()
    nodes = []
    for n, (port, controller) in enumerate(ports, start=1):
        folder = str(data_dir / f"node-{n}")
        args = [
            str(ROOT / "deploy/local/kafka.sh"),
            "node",
            str(n),
            str(port),
            str(controller),
            folder,
            voters,
            cluster_id,
        ]
        env = {"KAFKA_HEAP": NODE_HEAP, "KAFKA_ADMIN_PASSWORD": KAFKA_ADMIN_PASSWORD}
        nodes.append(Server(f"kafka-{n}", args, port, f"127.0.0.1:{port}", 120, env=env))
    return KafkaCluster(nodes)


def _cluster_id() -> str:
    """A cluster id as Kafka's `random-uuid` makes one (URL-safe base64 of 16 bytes, not starting with '-')."""
    while (made := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
        pass
    return made
