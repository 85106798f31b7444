"""A scoring worker's fetch waits at the broker only as long as configured, not faust's fixed 1.5 s (a rebalance's
offset lookups queue behind a parked fetch on the same connection: issue 31's failover)."""

import asyncio

import pytest
from pydantic import ValidationError

from services.common.settings import ScoringSettings
from services.scoring import faust_adapter


def made_wait(fetch_wait_ms: int) -> int:
    """The wait of the aiokafka consumer a corrected app's consumer thread makes (as the worker's thread starts it)."""

    async def made() -> int:
        app = faust_adapter.corrected_app(f"fetch-wait-{fetch_wait_ms}", fetch_wait_ms=fetch_wait_ms)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    return asyncio.run(made())


def test_the_consumer_a_worker_makes_waits_for_events_as_long_as_configured():
    assert made_wait(250) == 250
    assert made_wait(ScoringSettings(scoring_fetch_wait_ms=40).scoring_fetch_wait_ms) == 40


def test_a_fetch_wait_beyond_fausts_own_is_refused_and_names_the_setting():
    with pytest.raises(ValidationError, match="scoring_fetch_wait_ms"):
        ScoringSettings(scoring_fetch_wait_ms=5000)
