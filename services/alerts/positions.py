"""Where each consumer of the alerts service stands, kept in Redis next to what it wrote there.

Redis restarted after a crash from its append-only file (`appendfsync everysec`) has lost at most its last second of
writes: it is Redis as it was a moment earlier, consistent in itself, but behind Kafka's commits and behind the
changes already on `alerts.changes`. So after each batch's effects, each consumer also writes, in the same Redis,
the offset it goes on from (`alerts:positions:<group>`, one field per partition), but only if the positions there are
still the ones it wrote last; a decision that reads Redis (the score consumer's) is made in one transaction with
that check. Positions that are not its own mean Redis went back in time: the consumer goes back with it, to the
positions it finds, and applies again what Redis lost (every effect is idempotent; the projection re-feeds the
outbox, so the webhooks and live streams of lost changes go out again, under the same change id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
_RETRY_SECONDS = 1.0

# KEYS[1]: the positions; ARGV: field, the value last written ('' none), the new value ('' keep), ... Sets the new
# values only if every field still holds the value last written; returns 1 if so, else 0.
_SAVE = """
for i = 1, #ARGV, 3 do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then return 0 end
end
for i = 1, #ARGV, 3 do
  if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2]) end
end
return 1
"""


class RolledBack(RuntimeError):
    """Redis holds other positions than this consumer wrote last: it lost its last writes (a crash)."""


class Positions:
    """One consumer group's positions in Redis (see the module doc)."""

    def __init__(self, redis: Redis, group: str):
        self._redis, self._key = redis, f"alerts:positions:{group}"
        self._save = redis.register_script(_SAVE)
        self._written: dict[TopicPartition, int | None] = {}  # per assigned partition: what this consumer wrote last

    async def check(self, pipe: Pipeline) -> None:
        """Queue, in a transaction, the check that Redis still holds the positions this consumer wrote last."""
        await self._save(keys=[self._key], args=self._args({}), client=pipe)

    def verify(self, checked: object) -> None:
        """Raise RolledBack when the queued check found other positions."""
        if not checked:
            raise RolledBack(f"{self._key}: Redis holds other positions than last written: it lost its last writes")

    async def save(self, messages: Sequence[ConsumerRecord]) -> None:
        """After a batch's effects: the offsets to go on from, if Redis still holds those last written."""
        after = {TopicPartition(m.topic, m.partition): m.offset + 1 for m in messages}
        if after:
            self.verify(await self._save(keys=[self._key], args=self._args(after)))
            self._written.update(after)

    async def resume(self, consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> None:
        """Go on from the positions Redis holds (else from the committed offsets, else from the beginning), waiting
        while Redis cannot be reached (nothing can be applied meanwhile)."""
        while True:
            try:
                stored = await self._redis.hmget(self._key, [_field(tp) for tp in partitions]) if partitions else []
                break
            except (RedisError, OSError) as exc:
                log.warning("positions unreadable, retrying: %s", exc)
                await asyncio.sleep(_RETRY_SECONDS)
        self._written = {
            tp: None if value is None else int(value) for tp, value in zip(partitions, stored, strict=True)
        }
        unknown = [tp for tp, offset in self._written.items() if offset is None]
        committed = await consumer.seek_to_committed(*unknown) if unknown else {}
        fresh = [tp for tp, offset in committed.items() if not offset]
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        for tp, offset in self._written.items():
            if offset is not None:
                consumer.seek(tp, offset)

    def _args(self, after: dict[TopicPartition, int]) -> list[str]:
        args = []
        for tp in self._written.keys() | after.keys():
            written = self._written.get(tp)
            args += [_field(tp), "" if written is None else str(written), str(after.get(tp, ""))]
        return args


def _field(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"
