"""faust's in-memory table store, fixed so that a standby copy is kept warm and taken over without a full re-read.

faust-streaming 0.15.3 keeps standby copies of table partitions on other workers (`table_standby_replicas`), but its
memory store defeats them:

1. `Store.on_recovery_completed` drops every key whose partition is not *active* on the worker: the standby records
   read so far are thrown away at the end of each recovery (faust-streaming/faust#212 reports the same symptom).
2. `Store.persisted_offset` is always None, so a partition that turns from standby into active is read again from
   the start of its changelog (`Recovery._build_offsets`): the warm copy saves nothing, a failover costs a cold
   recovery of the dead worker's households.

This store keeps the standby partitions' keys and knows, per changelog partition, the offset up to which it holds
the records (applied from the changelog, or written by this worker and acknowledged): faust's recovery starts
there, for an active partition as for a standby one. The offset and the keys of a partition are forgotten together,
when the worker holds the partition neither as active nor as standby any more.

A partition assigned to a worker that holds nothing of it is read whole in bulk first (`preload.ChangelogReader`,
when `install` was given one): faust's recovery then only reads what was written since.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence, Set
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faust import stores
from faust.stores import memory
from faust.types import TP, EventT

from services.scoring.preload import ChangelogReader

log = logging.getLogger(__name__)
SCHEME = "shouwang-memory"  # the store URL's scheme (`shouwang-memory://`)


class WarmMemoryStore(memory.Store):
    """The in-memory store of a table whose standby partitions stay warm and whose recovery resumes where it held."""

    reader: ChangelogReader | None = None  # set by `install`: cold partitions are read in bulk before recovery

    def __post_init__(self) -> None:
        super().__post_init__()
        self._offsets: dict[TP, int] = {}
        self.applied: Counter[int] = Counter()  # changelog records applied, by partition (recoveries and standbys)

    def apply_changelog_batch(
        self, batch: Iterable[EventT], to_key: Callable[[Any], Any], to_value: Callable[[Any], Any]
    ) -> None:
        """Apply changelog records (recovery or standby) and note how far each partition is held."""
        events = list(batch)
        super().apply_changelog_batch(events, to_key, to_value)
        for event in events:
            message = event.message
            self.set_persisted_offset(message.tp, message.offset)
            self.applied[message.partition] += 1

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0
    ) -> None:
        """Before faust's recovery reads them record by record: load the assigned changelog partitions held cold."""
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        changelog: Any = self.table.changelog_topic  # a faust Topic: its key and value types and serializers
        name = changelog.get_topic_name()
        cold = {(tp.topic, tp.partition) for tp in assigned if tp.topic == name and tp not in self._offsets}
        if self.reader is None or not cold:
            return
        serializers = self.app.serializers

        def apply(records: Sequence[ConsumerRecord]) -> None:
            for record in records:
                key = serializers.loads_key(changelog.key_type, record.key, serializer=changelog.key_serializer)
                if record.value is None:  # a deleted key
                    self.data.pop(key, None)
                    self._key_partition.pop(key, None)
                    continue
                self.data[key] = serializers.loads_value(
                    changelog.value_type, record.value, serializer=changelog.value_serializer
                )
                self._key_partition[key] = record.partition
            self.applied[records[0].partition] += len(records)

        try:
            loaded = await self.reader.read(cold, apply)
        except KafkaError:  # what was applied is applied again, in order, by faust's recovery from the start
            log.warning("bulk recovery of %s failed: faust's recovery reads it record by record", name, exc_info=True)
            return
        for (topic, partition), offset in loaded.items():
            self.set_persisted_offset(TP(topic, partition), offset)

    def persisted_offset(self, tp: TP) -> int | None:
        """The offset up to which this store holds the changelog partition (None: nothing of it)."""
        return self._offsets.get(tp)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        """Note that every record of the partition up to `offset` is applied (only ever moves forward)."""
        if offset > self._offsets.get(tp, -1):
            self._offsets[tp] = offset

    def holds(self) -> dict[int, int]:
        """How far each held partition is held (partition: offset)."""
        return {tp.partition: offset for tp, offset in self._offsets.items()}

    async def on_recovery_completed(self, active_tps: Set[TP], standby_tps: Set[TP]) -> None:
        """Forget the partitions held neither as active nor as standby (their keys and their offsets together)."""
        held = {tp.partition for tp in (*active_tps, *standby_tps)}
        gone = [key for key, partition in self._key_partition.items() if partition not in held]
        for key in gone:
            self.data.pop(key, None)
            self._key_partition.pop(key, None)
        for tp in [tp for tp in self._offsets if tp.partition not in held]:
            del self._offsets[tp]


def install(reader: ChangelogReader | None = None) -> None:
    """Make `shouwang-memory://` name this store (call before the app makes its tables); with `reader`, partitions
    held cold are read in bulk before faust's recovery."""
    stores.STORES.aliases[SCHEME] = f"{__name__}:WarmMemoryStore"
    WarmMemoryStore.reader = reader


def digest(pairs: Iterable[tuple[str, bytes]]) -> str:
    """A digest of (key, value) pairs that does not depend on their order (equal tables, equal digests)."""
    total = 0
    for key, value in pairs:
        total += int.from_bytes(hashlib.blake2b(key.encode() + b"\0" + value, digest_size=8).digest(), "big")
    return f"{total % 2**64:016x}"


def partitions(
    held: WarmMemoryStore, actives: Set[int], standbys: Set[int], digests: bool = True
) -> dict[str, dict[str, Any]]:
    """What the store holds of each partition: its role, households, offset held up to and (`digests`) digest (a pass
    over the table: for tests and operators, not for scraping)."""
    by_partition: dict[int, list[tuple[str, bytes]]] = {p: [] for p in (*actives, *standbys)}
    for key, partition in held._key_partition.items():
        by_partition.setdefault(partition, []).append((key, held.data[key]))
    offsets = held.holds()
    return {
        str(partition): {
            "role": "active" if partition in actives else "standby" if partition in standbys else "none",
            "households": len(pairs),
            "offset": offsets.get(partition),
            "digest": digest(pairs) if digests else None,
            "applied": held.applied[partition],
        }
        for partition, pairs in sorted(by_partition.items())
    }
