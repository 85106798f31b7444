"""The alerts projection counts the drift bins of model scores in real Redis: each field named as the monitoring API
reads it, summed over a batch, and a score delivered again counts nothing twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest

from services.alerts.monitoring import month_key, raised_by
from services.alerts.score_reading import read_score
from services.alerts.store import AlertStore
from services.common.model_activation import Activation
from services.common.policy import PolicyBook
from services.common.redis_connections import redis_client
from services.common.score_records import ScoreRecord, encoded
from services.common.settings import REPO_ROOT
from services.ingest.validation import validate_event
from services.scoring.model import ModelRegistry
from services.scoring.scorer import score_event
from services.scoring.state import HouseholdState
from tests.factories import income, registration
from tests.models import train_toy_model

pytestmark = pytest.mark.integration
POLICIES = PolicyBook.load(REPO_ROOT / "policy")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _scores(folder, version: str, households: int) -> list[ScoreRecord]:
    manifest = train_toy_model(folder, version)
    activation = Activation(version=version, sha256=manifest.sha256, activated_by="t", activated_at=NOW)
    model = ModelRegistry(folder).load(activation)
    out = []
    for n in range(households):
        raw = registration(f"D{n}", 9000 + 1500 * n, members=1 + n % 4, time="2025-03-02T08:00:00+08:00")
        _, score = score_event(HouseholdState(), validate_event(raw, b"k"), POLICIES, NOW, model)
        assert score is not None and score.monitoring is not None
        out.append(read_score(encoded(score)))
    return out


def _expected(scores: list[ScoreRecord]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for score in scores:
        assert score.monitoring is not None
        counts.update(["n", f"s:{score.monitoring.score_bin}", f"level:{score.level}"])
        counts.update(f"f:{i}:{b}" for i, b in enumerate(score.monitoring.bins))
        who = raised_by((r.code, r.level) for r in score.reasons)
        counts.update([f"raised:{who}"] if who else [])
    return dict(counts)


def test_a_batch_of_model_scores_adds_every_bin_once_and_a_redelivered_score_adds_nothing(redis_url, tmp_path):
    version = f"drift-{uuid.uuid4().hex[:8]}"
    scores = _scores(tmp_path, version, 12)

    async def main() -> tuple[dict[str, int], int, set[str]]:
        redis = redis_client(redis_url, decode_responses=True)
        try:
            store = AlertStore(redis)
            first = await store.record_scores(scores[:8])
            again = await store.record_scores(scores)  # the first eight again, as a redelivered batch
            counted = await redis.hgetall(month_key(version, "532328", "2025-03"))  # type: ignore[misc]
            counties = await redis.smembers(f"alerts:monitoring:{version}:counties")  # type: ignore[misc]
            return {str(k): int(v) for k, v in counted.items()}, first + again, {str(c) for c in counties}
        finally:
            await redis.aclose()

    counted, recorded, counties = asyncio.run(main())
    assert recorded == 12
    assert counted == _expected(scores) and counted["n"] == 12
    assert counties == {"532328"}


def test_a_score_that_comes_twice_in_one_batch_is_recorded_and_counted_once_in_its_first_place(redis_url, tmp_path):
    version = f"drift-{uuid.uuid4().hex[:8]}"
    manifest = train_toy_model(tmp_path, version)
    activation = Activation(version=version, sha256=manifest.sha256, activated_by="t", activated_at=NOW)
    model = ModelRegistry(tmp_path).load(activation)
    household = f"T{uuid.uuid4().hex[:8]}"
    raw = registration(household, 9000, members=2, time="2025-03-02T08:00:00+08:00")
    state, registered = score_event(HouseholdState(), validate_event(raw, b"k"), POLICIES, NOW, model)
    raw = income(household, "2025-03", 2500, time="2025-03-20T08:00:00+08:00")
    _, later = score_event(state, validate_event(raw, b"k"), POLICIES, NOW, model)
    assert registered is not None and later is not None
    first, second = read_score(encoded(registered)), read_score(encoded(later))

    async def main() -> tuple[int, dict[str, int], list[str], str]:
        redis = redis_client(redis_url, decode_responses=True)
        try:
            recorded = await AlertStore(redis).record_scores([first, second, first])
            counted = await redis.hgetall(month_key(version, "532328", "2025-03"))  # type: ignore[misc]
            timeline = await redis.lrange(f"alerts:household:{household}:timeline", 0, -1)  # type: ignore[misc]
            figures = str(await redis.get(f"alerts:household:{household}"))
            ids = [json.loads(line)["score_id"] for line in timeline]
            return recorded, {str(k): int(v) for k, v in counted.items()}, ids, json.loads(figures)["last_score_id"]
        finally:
            await redis.aclose()

    recorded, counted, timeline, latest = asyncio.run(main())
    assert recorded == 2 and timeline == [first.score_id, second.score_id] and latest == second.score_id
    assert counted == _expected([first, second] if second.monitoring else [first])


def test_a_redelivered_batch_that_also_holds_a_copy_of_a_new_score_counts_the_new_score_once(redis_url, tmp_path):
    version = f"drift-{uuid.uuid4().hex[:8]}"
    before, new = _scores(tmp_path, version, 2)

    async def main() -> tuple[int, dict[str, int]]:
        redis = redis_client(redis_url, decode_responses=True)
        try:
            store = AlertStore(redis)
            recorded = await store.record_scores([before])
            recorded += await store.record_scores([before, new, new])  # delivered again, with a copy of the new one
            counted = await redis.hgetall(month_key(version, "532328", "2025-03"))  # type: ignore[misc]
            return recorded, {str(k): int(v) for k, v in counted.items()}
        finally:
            await redis.aclose()

    recorded, counted = asyncio.run(main())
    assert recorded == 2
    assert counted == _expected([before, new])
