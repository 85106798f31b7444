"""The change log: every change of an alert is an event on Kafka (the system of record) before Redis has it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from services.common.alerts import Alert, Change
from services.common.kafka_auth import KafkaCredentials, client_options

log = logging.getLogger(__name__)


def result_key(change_id: str) -> str:
    """Where the projector leaves whether a change applied, for a writer that missed the announcement."""
    return f"alerts:change:{change_id}:result"


RESULTS_CHANNEL = "alerts:change-results"  # the projector announces "<change_id> applied|stale" here
_RESULT_CHECK_SECONDS = 1.0  # how often a waiting writer also reads its result key (announcements can be missed)


class ChangeNotApplied(RuntimeError):
    """The change is in the log but the projection did not confirm it in time (the projector is down or behind)."""


# A batch failing with one of these is read again from the last commit: Redis or the broker is briefly away.
TRANSIENT = (RedisError, KafkaError, ChangeNotApplied, OSError)


class ChangeLog:
    """Writes changes to the log (acks=all) and waits until the projector says whether each one applied.

    Waiting holds no Redis connection per change: one subscription hears every outcome, so hundreds of
    concurrent writers cannot starve the projector of connections.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        redis: Redis,
        wait_seconds: float,
        history_kept: int = 200,
        credentials: KafkaCredentials | None = None,
    ):
        self._bootstrap_servers, self._credentials = bootstrap_servers, credentials
        self._topic = topic
        self._redis = redis
        self._wait = wait_seconds
        self._history_kept = history_kept
        self._producer: AIOKafkaProducer
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect to the broker and subscribe to the outcomes (inside the event loop)."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            client_id="shouwang-alerts",
            **client_options(self._credentials),
        )
        await self._producer.start()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(RESULTS_CHANNEL)
        self._listener = asyncio.create_task(self._hear_outcomes(pubsub))

    async def stop(self) -> None:
        """Flush and disconnect."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._producer.stop()

    async def _hear_outcomes(self, pubsub: PubSub) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=1.0)
                except (RedisError, OSError) as exc:  # Redis restarting: the next call reconnects and resubscribes
                    log.warning("change outcomes unheard, reconnecting: %s", exc)
                    await asyncio.sleep(0.5)
                    continue
                if message is not None:
                    change_id, _, outcome = str(message["data"]).partition(" ")
                    self._settle(change_id, outcome)
        finally:
            await pubsub.aclose()

    def _settle(self, change_id: str, outcome: str) -> None:
        waiter = self._pending.get(change_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)

    @property
    def producer(self) -> AIOKafkaProducer:
        """The started producer (shared with the dead letters of the same process)."""
        return self._producer

    def as_stored(self, alert: Alert) -> Alert:
        """The alert as the log and the projection keep it (its history cut to the newest `history_kept`)."""
        return alert.with_history_kept(self._history_kept)

    async def commit(self, alert: Alert, kind: str, by: str, at: datetime) -> bool:
        """Log `alert` as the successor of version `alert.version - 1`; True if applied, False if that was stale."""
        return (await self.commit_many([(alert, kind, by, at)]))[0]

    async def commit_many(self, successors: list[tuple[Alert, str, str, datetime]]) -> list[bool]:
        """Log each (alert, kind, by, at) in order, all sent before any is awaited; for each, whether it applied.

        The history each alert carries is cut to the newest `history_kept` entries first.
        """
        changes = [
            Change(
                change_id=str(uuid.uuid4()),
                alert_id=alert.id,
                household_id=alert.household_id,
                from_version=alert.version - 1,
                kind=kind,
                by=by,
                at=at,
                alert=self.as_stored(alert),
            )
            for alert, kind, by, at in successors
        ]
        loop = asyncio.get_running_loop()
        waiters = {change.change_id: loop.create_future() for change in changes}
        self._pending.update(waiters)
        try:
            sent = [
                await self._producer.send(
                    self._topic, change.model_dump_json().encode(), key=change.household_id.encode()
                )
                for change in changes
            ]
            await asyncio.gather(*sent)
            outcomes = await self._outcomes(waiters)
            return [outcomes[change.change_id] == "applied" for change in changes]
        finally:
            for change_id in waiters:
                del self._pending[change_id]

    async def _outcomes(self, waiters: dict[str, asyncio.Future[str]]) -> dict[str, str]:
        """Each change's outcome as announced, or as left in its result key when the announcement was missed."""
        loop = asyncio.get_running_loop()
        deadline, outcomes = loop.time() + self._wait, dict[str, str]()
        while (left := deadline - loop.time()) > 0:
            unsettled = {change_id: w for change_id, w in waiters.items() if change_id not in outcomes}
            if not unsettled:
                return outcomes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*map(asyncio.shield, unsettled.values())), min(left, _RESULT_CHECK_SECONDS)
                )
            outcomes |= {change_id: w.result() for change_id, w in unsettled.items() if w.done()}
            missing = [change_id for change_id in unsettled if change_id not in outcomes]
            if missing:
                stored = await self._redis.mget([result_key(change_id) for change_id in missing])
                outcomes |= {change_id: str(found) for change_id, found in zip(missing, stored, strict=True) if found}
        if len(outcomes) == len(waiters):
            return outcomes
        unknown = len(waiters) - len(outcomes)
        raise ChangeNotApplied(f"{unknown} change(s) logged but not projected within {self._wait}s")
