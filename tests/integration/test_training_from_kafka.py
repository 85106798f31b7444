"""Analysts train from the history on Kafka (kafka-python), exactly as from an export of the same events."""

import json
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from services.analytics.cli import main
from services.analytics.history import read_jsonl, read_kafka, write_simulation
from services.analytics.simulator import SimConfig
from services.common.kafka_auth import client_options

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def history_on_kafka(kafka_bootstrap, tmp_path_factory) -> tuple[str, Path, Path]:
    """A simulated county exported to JSONL and the same events, as canonical messages, on a topic of its own."""
    folder = tmp_path_factory.mktemp("kafka-history")
    events, labels = folder / "events.jsonl", folder / "labels.csv"
    write_simulation(SimConfig(households=400, seed=3, months=36), events, labels)
    topic = f"canonical.history.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, **client_options())
    admin.create_topics([NewTopic(topic, 6, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, **client_options(), acks="all", linger_ms=20)
    for event in read_jsonl(events):
        producer.send(topic, event.to_json(), key=event.household_id.encode())
    producer.flush()
    producer.close()
    return topic, events, labels


def test_the_history_read_from_kafka_is_every_exported_event_once(kafka_bootstrap, history_on_kafka):
    topic, events, _ = history_on_kafka
    from_kafka = sorted(event.key for event in read_kafka(kafka_bootstrap, topic))
    exported = sorted(event.key for event in read_jsonl(events))
    assert from_kafka == exported and len(exported) > 1000


def test_the_cli_trains_from_kafka_with_the_same_training_set_as_from_the_export(
    kafka_bootstrap, history_on_kafka, tmp_path, monkeypatch, capsys
):
    topic, events, labels = history_on_kafka
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    common = ["--labels", str(labels), "--max-iter", "30", "--kinds", "logistic", "--bootstrap", "20"]
    main(["train", "--from-kafka", "--kafka-topic", topic, "--version", "kafka-1", *common])
    main(["train", "--events", str(events), "--version", "export-1", *common])
    assert "registered kafka-1" in capsys.readouterr().out
    folder = tmp_path / "models"
    manifests = {v: json.loads((folder / v / "manifest.json").read_text()) for v in ("kafka-1", "export-1")}
    timing = "predict_us_per_row"  # measured each time
    assert {k: v for k, v in manifests["kafka-1"]["metrics"].items() if k != timing} == {
        k: v for k, v in manifests["export-1"]["metrics"].items() if k != timing
    }
    assert manifests["kafka-1"]["data_window"] == manifests["export-1"]["data_window"]
