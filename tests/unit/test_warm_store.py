"""The scoring tables' memory store keeps its standby partitions and knows how far it holds each partition."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from services.scoring.faust_adapter import WarmMemoryStore, corrected_app, warm_store, warm_table

CHANGELOG = "app-households-changelog"


def record(partition: int, offset: int, key: str, value: bytes | None) -> Any:
    """A changelog event as the recovery hands it to the store."""
    message = SimpleNamespace(tp=TP(CHANGELOG, partition), partition=partition, offset=offset, value=value)
    return SimpleNamespace(message=message, key=key, value=value)


def store() -> WarmMemoryStore:
    app = corrected_app("warm-store-test")
    return warm_store(warm_table(app, "households", None, key_type=str, value_type=bytes))


def identity(value: Any) -> Any:
    return value


def test_a_store_holds_each_partition_up_to_the_last_record_it_applied_or_was_told_of():
    held = store()
    held.apply_changelog_batch(
        [record(0, 5, "a", b"1"), record(0, 9, "b", b"2"), record(3, 2, "c", b"3")], *[identity] * 2
    )
    held.set_persisted_offset(TP(CHANGELOG, 3), 40)
    held.set_persisted_offset(TP(CHANGELOG, 3), 12)  # an older write acknowledged late moves nothing back
    assert held.persisted_offset(TP(CHANGELOG, 0)) == 9
    assert held.persisted_offset(TP(CHANGELOG, 3)) == 40
    assert held.persisted_offset(TP(CHANGELOG, 1)) is None
    assert held.applied == {0: 2, 3: 1}


def test_a_recovery_keeps_the_standby_partitions_and_forgets_what_is_held_no_more_with_its_offset():
    held = store()
    held.apply_changelog_batch(
        [record(0, 1, "a", b"1"), record(1, 1, "b", b"2"), record(2, 1, "c", b"3")], *[identity] * 2
    )
    asyncio.run(held.on_recovery_completed({TP(CHANGELOG, 0)}, {TP(CHANGELOG, 1)}))
    assert dict(held.data) == {"a": b"1", "b": b"2"}
    assert held.holds() == {0: 1, 1: 1}
