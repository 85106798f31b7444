"""services/scoring/faust_adapter.py holds only on the faust it was read from: any other version, or a private name it
uses gone or changed, fails here first (before a worker loses events in a rebalance)."""

from __future__ import annotations

import hashlib
import inspect
import re
import tomllib
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from faust.stores import STORES, memory
from faust.tables.recovery import Recovery
from faust.transport import consumer
from faust.transport.drivers import aiokafka

from services.scoring import faust_adapter
from services.scoring.faust_adapter import CorrectedConsumer, Transport, WarmMemoryStore

ROOT = Path(__file__).resolve().parents[2]
RE_READ = (
    "services/scoring/faust_adapter.py was read from faust-streaming {expected}, not {found}: re-read faust's consumer "
    "(faust/transport/consumer.py, drivers/aiokafka.py), table recovery (tables/recovery.py) and memory store "
    "(stores/memory.py) against each correction in the adapter's header (still needed? the copy and overrides still "
    "right?), then update FAUST_VERSION and this test"
)
# The faust functions the adapter copies (1) or whose behaviour its header describes and corrects (2-4), as 0.15.3
# has them: sha256 of their source. A change means the copy or the correction must be read against it again.
UPSTREAM = {
    consumer.Consumer._drain_messages: "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417",
    consumer.Consumer.perform_seek: "0e8c130ff4b0afd82c0be9c5fd831316e10febc62c94032833911096e156d7c6",
    Recovery.on_recovery_completed: "6ef567acf072e46da3fccbccc6d662371f634f622c3d510972d5df81f70ae3ac",
    memory.Store.on_recovery_completed: "a00bef343e139602606996e88809e62731a9113691ae678095266a52e0e0b013",
    memory.Store.persisted_offset: "fbba5c654497938828d8672f6424cf21883191422fa369a7172fbe6a5309aabf",
}
# The private (or overridden) faust methods the adapter calls or overrides, with their parameters.
SIGNATURES = {
    consumer.Consumer._drain_messages: ["self", "fetcher"],
    consumer.Consumer._add_gap: ["self", "tp", "offset_from", "offset_to"],
    consumer.Consumer.perform_seek: ["self"],
    consumer.Consumer.track_message: ["self", "message"],
    consumer.Consumer.ack: ["self", "message"],
    consumer.Consumer.stop_flow: ["self"],
    aiokafka.Consumer.seek_to_committed: ["self"],
    aiokafka.Consumer.seek_wait: ["self", "partitions"],
    aiokafka.Consumer.highwater: ["self", "tp"],
    aiokafka.Producer._ensure_producer: ["self"],
    aiokafka.Consumer._new_consumer_thread: ["self"],
    aiokafka.AIOKafkaConsumerThread._create_worker_consumer: ["self", "transport"],
    memory.Store.__post_init__: ["self"],
    memory.Store.apply_changelog_batch: ["self", "batch", "to_key", "to_value"],
    memory.Store.on_rebalance: ["self", "assigned", "revoked", "newly_assigned", "generation_id"],
    memory.Store.on_recovery_completed: ["self", "active_tps", "standby_tps"],
    memory.Store.persisted_offset: ["self", "tp"],
    memory.Store.set_persisted_offset: ["self", "tp", "offset"],
}


def named(function: Any) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def digest(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def test_the_installed_and_the_pinned_faust_are_the_version_the_adapter_was_read_from():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [pinned] = [re.sub(r"\s+#.*", "", d).split("==")[1] for d in dependencies if d.startswith("faust-streaming==")]
    for found in (version("faust-streaming"), pinned):
        assert found == faust_adapter.FAUST_VERSION, RE_READ.format(expected=faust_adapter.FAUST_VERSION, found=found)


@pytest.mark.parametrize("function", UPSTREAM, ids=named)
def test_the_faust_code_the_adapter_copies_or_corrects_is_the_code_it_was_read_from(function):
    assert digest(function) == UPSTREAM[function], f"{named(function)} changed: " + RE_READ.format(
        expected=faust_adapter.FAUST_VERSION, found=version("faust-streaming")
    )


@pytest.mark.parametrize("method", SIGNATURES, ids=named)
def test_each_private_or_overridden_faust_method_the_adapter_uses_keeps_its_parameters(method):
    assert list(inspect.signature(method).parameters) == SIGNATURES[method], f"{named(method)} changed"


def test_a_corrected_app_s_consumer_tables_and_producer_have_the_private_attributes_the_adapter_uses():
    app = faust_adapter.corrected_app("faust-adapter-test")
    made = app.consumer
    assert isinstance(made, CorrectedConsumer)
    for name in ("_read_offset", "_commit_every", "_n_acked", "_stopped", "diag", "suspend_flow", "flow_active"):
        assert hasattr(made, name), f"faust's consumer has no {name} any more"
    recovery = app.tables.recovery
    assert isinstance(recovery.standby_offsets, dict) and isinstance(recovery.standby_tps, set)
    table = faust_adapter.warm_table(app, "households", None, key_type=str, value_type=bytes)
    store = faust_adapter.warm_store(table)
    assert isinstance(store._key_partition, dict) and isinstance(store.data, dict)
    assert callable(app.producer._ensure_producer)
    assert isinstance(made._thread, faust_adapter.ConsumerThread)


def test_a_corrected_app_leaves_faust_s_own_transport_and_stores_as_they_are():
    app = faust_adapter.corrected_app("faust-adapter-test")
    assert type(app.transport) is Transport and aiokafka.Transport.Consumer is aiokafka.Consumer
    assert STORES.aliases["memory"] == "faust.stores.memory:Store"
    assert STORES.aliases[faust_adapter.STORE_SCHEME] == f"{faust_adapter.__name__}:{WarmMemoryStore.__name__}"


def test_a_topic_delivered_in_batches_is_subscribed_and_handed_to_its_handler():
    app = faust_adapter.corrected_app("faust-adapter-test")
    topic = app.topic("events.canonical", internal=False)

    async def handler(batch: Any) -> None: ...

    faust_adapter.deliver_in_batches(app, topic, handler)
    assert topic in app.topics
    assert app.transport.batch_handlers == {"events.canonical": handler}
