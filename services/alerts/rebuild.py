"""Rebuild the Redis projection from Kafka: household figures from `scores`, alerts from the change log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from pydantic import ValidationError
from redis.asyncio import Redis

from services.alerts.score_reading import DecodeErrors, read_score
from services.alerts.store import AlertStore
from services.common import topics
from services.common.alerts import Change
from services.common.kafka import TopicToEnd
from services.common.settings import AlertsSettings

log = logging.getLogger(__name__)


CHUNK = 1000  # messages replayed per round trip


async def rebuild(
    store: AlertStore, bootstrap_servers: str, changes_topic: str, scores_topic: str = topics.SCORES
) -> tuple[int, int]:
    """Wipe the projection's keys (only those), replay both topics; returns (scores replayed, changes applied).

    A message that cannot be read is skipped with a warning (the running service has dead-lettered it).
    """
    wiped = await store.wipe()
    log.info("wiped %d keys", wiped)
    scores, chunk = 0, []
    for raw in TopicToEnd(bootstrap_servers, scores_topic):  # blocking reads: a command line, nothing else runs
        with _unless_unreadable("score"):
            chunk.append(read_score(raw))
        if len(chunk) == CHUNK:
            await store.record_scores(chunk)
            scores, chunk = scores + len(chunk), []
    await store.record_scores(chunk)
    scores += len(chunk)
    applied, changes = 0, []
    for raw in TopicToEnd(bootstrap_servers, changes_topic):
        with _unless_unreadable("alert change"):
            changes.append(Change.model_validate_json(raw))
        if len(changes) == CHUNK:
            applied, changes = applied + sum(await store.apply_many(changes, live=False)), []
    applied += sum(await store.apply_many(changes, live=False))
    return scores, applied


@contextlib.contextmanager
def _unless_unreadable(what: str) -> Iterator[None]:
    try:
        yield
    except (ValidationError, *DecodeErrors) as exc:
        log.warning("skipped an unreadable %s: %s", what, exc)


async def main() -> None:
    """`python -m services.alerts rebuild`: run it while the alerts service and the API are stopped."""
    from services.common.logs import configure_logging

    settings = AlertsSettings()
    configure_logging(settings.log_level)
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        scores, applied = await rebuild(
            AlertStore(redis, settings.alerts_score_ids_kept),
            settings.kafka_bootstrap_servers,
            settings.alerts_changes_topic,
            settings.scores_topic,
        )
    finally:
        await redis.aclose()
    print(f"rebuilt: {scores} scores replayed, {applied} alert changes applied", flush=True)
