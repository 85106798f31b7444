"""faust's aiokafka consumer, fixed so that a rebalance with events in flight does not skip any of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, cast

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka
from faust.types import TP, Message
from mode import Service, ServiceT

from services.common.kafka import record_lag

# A topic's batch handler: gets whole fetches of its messages and returns once their effects are durable (it never
# raises: a handler that cannot finish ends the process, leaving the messages unacknowledged).
BatchHandler = Callable[[Sequence[Message]], Awaitable[None]]

# faust-streaming 0.15.3 (the latest release) loses events when the group rebalances while some are in flight:
#
# 1. `Consumer._drain_messages` (faust/transport/consumer.py) hands each fetched message to the streams with
#    `wait_first(callback(message), suspend_flow.wait())` and then sets the partition's read offset to it whether or
#    not it was delivered: when a rebalance stops the flow, `wait_first` returns at once, the callback is cancelled, and
#    the read offset still moves past the message (faust-streaming/faust#221, robinhood/faust#115, robinhood/faust#583).
# 2. `Recovery.on_recovery_completed` resumes the stream partitions and then awaits `perform_seek()` while the flow is
#    still on (table recovery turned it on to read the changelogs): the messages delivered meanwhile are dropped from
#    the streams' buffers by `flow_control.resume()` right after, and must be fetched again. They are not: aiokafka's
#    `seek_to_committed` leaves a partition whose committed offset is 0 where it is, and a batch fetched before the
#    seek can still be delivered after it, putting the read offset past what the seek refetches: those are then dropped
#    ("DROPPED MESSAGE ROFF").
# (3. is below, at `perform_seek`: standby records dropped the same way.)
#
# Later commits then move past the skipped offsets (`_add_gap` counts a jump in offsets as acked, and a committed offset
# of 0 is kept as None, which turns off the check for a hole before the acks): those events are never applied
# (tests/integration/test_rebalance_in_flight.py). The fix: `_drain_messages` below is 0.15.3's, changed only where
# marked (an undelivered message ends the batch and leaves the read offset); `perform_seek` stops the flow first (the
# recovery resumes it after the seek); `seek_to_committed` also seeks where the committed offset is 0.
#
# Topics given a batch handler (`deliver_in_batches`) skip faust's streams: each fetch's messages of such a topic go to
# the handler as one batch (tracked, so a rebalance or a stop waits for them; acknowledged and read only once handled).
# faust's per-message delivery (an event, a queue, the stream's iteration and acks) cost more than the scoring itself.


class Consumer(aiokafka.Consumer):
    """faust's aiokafka consumer that refetches, after a rebalance, every message it did not deliver to the streams."""

    batch_handlers: ClassVar[dict[str, BatchHandler]] = {}

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

        handlers = self.batch_handlers
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
        """Seek to the committed offsets with the flow stopped: nothing fetched before is delivered after the seek;
        and each standby changelog partition back to the last record the recovery took from it (see below)."""
        self.stop_flow()
        await super().perform_seek()
        # 3. The recovery resumes the standby changelog partitions before `on_recovery_completed`, whose
        #    `flow_control.resume()` then empties the changelog queue (`clear_on_resume`): standby records delivered
        #    meanwhile are dropped, and the later ones applied past the hole (faust-streaming/faust#212). Reading the
        #    standby partitions again from the last record taken keeps the standby copy whole.
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


def install() -> None:
    """Make faust's aiokafka transport create this consumer (call before the app first uses its consumer)."""
    aiokafka.Transport.Consumer = Consumer


def deliver_in_batches(topic: str, handler: BatchHandler) -> None:
    """Hand every fetch of `topic`'s messages to `handler` as one batch instead of to faust's streams."""
    Consumer.batch_handlers[topic] = handler
