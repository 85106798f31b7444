"""Every use scoring makes of faust-streaming's internals, read from the one version pinned (`FAUST_VERSION`).

tests/unit/test_faust_adapter.py fails on any other version, or when a private name used here changed. The rest of
scoring uses only this module's public functions: `corrected_app`, `warm_table`, `warm_store`, `deliver_in_batches`,
`kafka_producer`. Nothing of faust is patched: the app gets its own transport and its tables their own store.

faust-streaming 0.15.3 (the latest release) loses events and throws table state away when the group rebalances:

1. `Consumer._drain_messages` (faust/transport/consumer.py) hands each fetched message to the streams with
   `wait_first(callback(message), suspend_flow.wait())`, then moves the partition's read offset to it whether or not it
   was delivered: when a rebalance stops the flow the callback is cancelled and the message skipped
   (faust-streaming/faust#221, robinhood/faust#115, robinhood/faust#583). `CorrectedConsumer._drain_messages` is
   0.15.3's, changed only where marked: an undelivered message ends the batch and leaves the read offset.
2. `Recovery.on_recovery_completed` resumes the stream partitions and awaits `perform_seek()` with the flow still on:
   messages delivered meanwhile are dropped by `flow_control.resume()` right after, and not fetched again (aiokafka's
   `seek_to_committed` leaves a partition whose committed offset is 0 where it is, and a batch fetched before the seek
   can be delivered after it: "DROPPED MESSAGE ROFF"). `perform_seek` stops the flow first (the recovery resumes it),
   `seek_to_committed` also seeks where the committed offset is 0.
3. The recovery resumes the standby changelog partitions before `on_recovery_completed`, whose `flow_control.resume()`
   empties the changelog queue (`clear_on_resume`): standby records delivered meanwhile are dropped and later ones
   applied past the hole (faust-streaming/faust#212). `perform_seek` reads the standby partitions again from the last
   record the recovery took.
   Without 1-3, later commits move past the skipped offsets (`_add_gap` counts a jump in offsets as acked, a committed
   offset of 0 is kept as None): those events are never applied (tests/integration/test_rebalance_in_flight.py).
4. `memory.Store.on_recovery_completed` drops every key whose partition is not active on the worker (the standby
   copies, #212), and `memory.Store.persisted_offset` is always None, so a partition turning from standby to active
   is read again from the start of its changelog (`Recovery._build_offsets`). `WarmMemoryStore` keeps the standby keys
   and knows per partition the offset it holds the changelog up to (records applied, and the worker's own writes once
   acknowledged): faust's recovery starts there. A partition it holds nothing of is read whole in bulk first (the
   table's `preload.ChangelogReader`). The keys and the offset of a partition are forgotten together.
5. `AIOKafkaConsumerThread._create_worker_consumer` gives the aiokafka consumer a fixed `fetch_max_wait_ms=1500`. A
   broker answers a connection's requests in order, so each offset lookup of a rebalance's table recovery (highwaters,
   earliest offsets) waited behind an idle partition's parked fetch: 1.5 s a step, a third of a failover.
   `ConsumerThread` makes the consumer with the transport's `fetch_wait_ms` instead (`SCORING_FETCH_WAIT_MS`).
6. Not corrections: a topic given a batch handler (`deliver_in_batches`) skips faust's streams, each fetch's messages
   going to the handler as one batch (faust's per-message delivery cost more than the scoring itself); and
   `kafka_producer` is the aiokafka producer under faust's, which takes whole batches (faust's own send costs a future
   and a sensor call per record).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence, Set
from typing import Any, cast

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from faust import stores
from faust.stores import memory
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka
from faust.types import TP, AppT, CollectionT, EventT, Message, TableT, TopicT
from mode import Service, ServiceT

from services.common.kafka import record_lag
from services.scoring.preload import ChangelogReader

log = logging.getLogger(__name__)
FAUST_VERSION = "0.15.3"  # pyproject.toml pins it; what this module copies and overrides was read from it
STORE_SCHEME = "shouwang-memory"  # the tables' store URL (`shouwang-memory://`)
CHANGELOG_READER = "changelog_reader"  # the store option holding a table's ChangelogReader (None: no bulk recovery)
# A topic's batch handler: gets whole fetches of its messages and returns once their effects are durable (it never
# raises: a handler that cannot finish ends the process, leaving the messages unacknowledged).
BatchHandler = Callable[[Sequence[Message]], Awaitable[None]]


class ConsumerThread(aiokafka.AIOKafkaConsumerThread):
    """faust's consumer thread, its fetches waiting at the broker the transport's `fetch_wait_ms` (see 5. above)."""

    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        made = super()._create_worker_consumer(transport)
        made._fetch_max_wait_ms = transport.fetch_wait_ms  # read when the consumer starts its fetcher
        return made


class CorrectedConsumer(aiokafka.Consumer):
    """faust's aiokafka consumer that refetches, after a rebalance, every message it did not deliver (1-3 above)."""

    def _new_consumer_thread(self) -> aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        """Hand fetched messages to the streams until the consumer or the fetcher stops (faust-streaming 0.15.3)."""
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        handlers = cast(Transport, self.transport).batch_handlers  # Changed: topics delivered in batches
        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = cast(AsyncIterator, getmany(timeout=1.0))

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    batches: dict[str, list[tuple[TP, Message]]] = {}  # Changed: this fetch's messages per handler
                    batched_up_to: dict[TP, int] = {}  # Changed: last offset batched (read once handled)
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = batched_up_to.get(tp, get_read_offset(tp))
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:  # noqa: SIM102 (as upstream)
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            if message.topic in handlers:  # Changed: handed over below, with the rest of the fetch
                                batches.setdefault(message.topic, []).append((tp, message))
                                batched_up_to[tp] = offset
                                continue
                            # Changed: the read offset moves only when the callback delivered the message; when the
                            # flow stopped first (or the consumer is stopping), the rest of this batch is stale too.
                            delivery = callback(message)
                            waited = await self.wait_first(delivery, self.suspend_flow.wait())
                            if delivery not in waited.done:
                                break
                            set_read_offset(tp, offset)
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    for topic, batch in batches.items():
                        if not self.flow_active:
                            break  # fetched before a rebalance stopped the flow: fetched again after its seek
                        await self._deliver_batch(handlers[topic], batch)
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)

    async def _deliver_batch(self, handler: BatchHandler, batch: Sequence[tuple[TP, Message]]) -> None:
        """Hand one batch to its handler; a rebalance or a stop waits for it to be handled, never cancels it."""
        for _, message in batch:
            self.track_message(message)
        await asyncio.shield(self._handle_batch(handler, batch))

    async def _handle_batch(self, handler: BatchHandler, batch: Sequence[tuple[TP, Message]]) -> None:
        await handler([message for _, message in batch])
        on_message_out = self.app.sensors.on_message_out
        lags: dict[str, int] = {}
        last: dict[TP, int] = {}
        for tp, message in batch:
            self.ack(message)
            self._read_offset[tp] = last[tp] = message.offset
            on_message_out(tp, message.offset, message)
        for tp, offset in last.items():
            high = self.highwater(tp)
            if high is not None:
                lags[tp.topic] = lags.get(tp.topic, 0) + max(0, high - offset - 1)
        record_lag("scoring", lags)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets with the flow stopped (2), and the standby partitions back to the last record
        the recovery took from each (3)."""
        self.stop_flow()
        await super().perform_seek()
        recovery: Any = cast(Any, self.app.tables).recovery  # faust's TableManager (its type omits it)
        taken = {tp: max(recovery.standby_offsets.get(tp) or 0, 0) for tp in recovery.standby_tps}
        if taken:
            await self.seek_wait(taken)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek every partition to its committed offset, 0 included (aiokafka leaves those where they are)."""
        committed = await super().seek_to_committed()
        at_start = {tp: 0 for tp, offset in committed.items() if offset == 0}
        if at_start:
            await self.seek_wait(at_start)
        return committed


class Transport(aiokafka.Transport):
    """faust's aiokafka transport making the corrected consumer; knows the topics delivered in batches."""

    Consumer = CorrectedConsumer

    def __init__(self, *args: Any, fetch_wait_ms: int = 1500, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_handlers: dict[str, BatchHandler] = {}
        self.fetch_wait_ms = fetch_wait_ms


class WarmMemoryStore(memory.Store):
    """The in-memory store of a table whose standby copy stays warm and whose recovery resumes where it held (4)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._offsets: dict[TP, int] = {}
        self.applied: Counter[int] = Counter()  # changelog records applied, by partition (recoveries and standbys)

    @property
    def key_partitions(self) -> Mapping[Any, int]:
        """The partition of each key held."""
        return self._key_partition

    def remember_partition(self, key: Any, partition: int) -> None:
        """Note the partition of a key the worker wrote itself."""
        self._key_partition[key] = partition

    def remember_written(self, partition: int, offset: int) -> None:
        """Note a changelog record the worker wrote itself, once acknowledged: the partition is held up to it."""
        self.set_persisted_offset(TP(self.table.changelog_topic.get_topic_name(), partition), offset)

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
        reader: ChangelogReader | None = (self.options or {}).get(CHANGELOG_READER)
        changelog: Any = self.table.changelog_topic  # a faust Topic: its key and value types and serializers
        name = changelog.get_topic_name()
        cold = {(tp.topic, tp.partition) for tp in assigned if tp.topic == name and tp not in self._offsets}
        if reader is None or not cold:
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
            loaded = await reader.read(cold, apply)
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


def corrected_app(app_id: str, fetch_wait_ms: int = 1500, **settings: Any) -> faust.App:
    """A faust app (`settings`: faust's) whose consumer loses nothing in a rebalance and whose tables stay warm; its
    fetches wait at most `fetch_wait_ms` at the broker for events."""
    stores.STORES.aliases[STORE_SCHEME] = f"{__name__}:{WarmMemoryStore.__name__}"
    app = faust.App(app_id, store=f"{STORE_SCHEME}://", **settings)
    app.transport = Transport(app.conf.broker_consumer, app, fetch_wait_ms=fetch_wait_ms)
    return app


def warm_table(app: AppT, name: str, reader: ChangelogReader | None, **options: Any) -> TableT:
    """A table of a `corrected_app` (`options`: faust's); with `reader`, partitions held cold are read in bulk first."""
    return app.Table(name, options={CHANGELOG_READER: reader}, **options)


def warm_store(table: CollectionT) -> WarmMemoryStore:
    """The store of a `warm_table`."""
    store = cast(Any, table).data  # the table's store (faust's CollectionT omits it)
    if not isinstance(store, WarmMemoryStore):
        raise TypeError(f"table {table.name} is not a warm table: its store is {type(store).__name__}")
    return store


def deliver_in_batches(app: AppT, topic: TopicT, handler: BatchHandler) -> None:
    """Subscribe a `corrected_app` to `topic` without an agent: every fetch of its messages goes to `handler` whole."""
    transport = app.transport
    if not isinstance(transport, Transport):
        raise TypeError(f"app {app.conf.id} is not a corrected app: its transport is {type(transport).__name__}")
    app.topics.add(topic)
    transport.batch_handlers[topic.get_topic_name()] = handler


def kafka_producer(app: AppT) -> AIOKafkaProducer:
    """The started aiokafka producer under the app's (it takes whole batches: `services.common.kafka.send_batches`)."""
    return cast(Any, app.producer)._ensure_producer()
