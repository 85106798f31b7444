"""KAFKA_BOOTSTRAP_SERVERS with several brokers reaches every Kafka client as several brokers (the cluster drills run
every service on such a list)."""

from __future__ import annotations

from aiokafka.client import collect_hosts as aiokafka_hosts
from faust.transport.drivers.aiokafka import server_list
from faust.utils.urls import urllist
from kafka.cluster import collect_hosts as kafka_python_hosts

SERVERS = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292"
BROKERS = {("127.0.0.1", 9092), ("127.0.0.1", 9192), ("127.0.0.1", 9292)}


def test_aiokafka_kafka_python_and_faust_each_see_every_broker_of_a_comma_separated_list():
    assert {(host, port) for host, port, _ in aiokafka_hosts(SERVERS)} == BROKERS
    assert {(host, port) for host, port, _ in kafka_python_hosts(SERVERS)} == BROKERS
    faust_servers = server_list(urllist(f"kafka://{SERVERS}"), 9092)  # scoring's broker URL (services/scoring/app.py)
    assert {(host, int(port)) for host, port in (server.rsplit(":", 1) for server in faust_servers)} == BROKERS
