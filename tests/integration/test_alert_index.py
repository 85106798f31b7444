"""The alert indexes answer every filter exactly as a filter over all alerts would, through changes and replays."""

import asyncio
import itertools
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.alerts import index, monitoring
from services.alerts.deadlines import is_overdue
from services.alerts.search import AlertFilter
from services.alerts.store import AlertStore
from services.api.stats import board
from services.common.alerts import Alert, Change, Deadline, Visit
from services.common.redis_connections import redis_client
from services.common.risk_types import RISK_TYPES
from services.common.scores import Reason

pytestmark = pytest.mark.integration
T0 = datetime(2025, 6, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=20)
VILLAGES = [f"{township}{v:03d}" for township in ("532328101", "532328102", "532329101", "520102001") for v in (1, 2)]
STATUSES = ["open", "verifying", "reviewing", "confirmed", "dismissed", "assisting", "resolved"]
PREFIXES = ["", "53", "5323", "532328", "5323281", "532328101", "53232810100", "532328101002", "99"]
REASON = Reason(code="income_below_threshold", level="red", message_zh="原因", message_en="why", evidence={})
MODEL_REASON = Reason(code="model_risk", level="yellow", message_zh="模型", message_en="model", evidence={})


def db9(redis_url: str):
    return redis_client(redis_url.rsplit("/", 1)[0] + "/9", decode_responses=True)


def new_alert(rng: random.Random, n: int, household: str) -> Alert:
    created = T0 + timedelta(hours=rng.randrange(0, 30 * 24, 6))  # every sixth hour: many alerts tie
    deadlines = [
        Deadline(name="home_visit", due_at=created + timedelta(days=7), remind_at=created + timedelta(days=5)),
        Deadline(name="decision", due_at=created + timedelta(days=15), remind_at=created + timedelta(days=12)),
    ]
    return Alert(
        id=f"A{n:05d}-{rng.randrange(16**6):06x}",
        household_id=household,
        region_code=rng.choice(VILLAGES),
        level=rng.choice(["red", "yellow"]),
        created_at=created,
        updated_at=created,
        due_at=deadlines[-1].due_at,
        deadlines=deadlines,
        policy_version="2025.2",
        risk_types=rng.sample(RISK_TYPES[:4], rng.randrange(3)),
        queue=rng.choice(["township", "township", "county"]),  # a reopened case may start escalated, or overdue
        overdue=rng.random() < 0.15,
        **scored(rng),
    )


def scored(rng: random.Random) -> dict:
    """Most alerts come with the model's probability (calibration counters), some raised by the model alone."""
    if rng.random() < 0.3:
        return {"reasons": [REASON]}
    reasons = rng.choice([[REASON], [REASON, MODEL_REASON], [MODEL_REASON]])
    return {"probability": round(rng.random(), 4), "model_version": "m1", "reasons": reasons}


def changed(rng: random.Random, alert: Alert) -> Alert:
    """A successor with another status, level, queue, overdue flag, home visit or risk types (the store checks no
    workflow)."""
    field = rng.choice(["status", "status", "level", "queue", "overdue", "visit", "risk_types", "model"])
    update: dict = {"version": alert.version + 1}
    if field == "status":
        update["status"] = rng.choice(STATUSES)
    elif field == "level":
        update["level"] = "yellow" if alert.level == "red" else "red"
    elif field == "queue":
        update["queue"] = "county" if alert.queue == "township" else "township"
    elif field == "overdue":
        update["overdue"] = not alert.overdue
    elif field == "risk_types":
        update["risk_types"] = rng.sample(RISK_TYPES[:4], rng.randrange(3))
    elif field == "model":
        update.update({"probability": None, "model_version": None, **scored(rng)})  # a newer score's, or none
    else:
        update["visit"] = Visit(visited_at=alert.created_at, by="w", note="", consent=True)
    return alert.model_copy(update=update)


def change(alert: Alert, from_version: int) -> Change:
    return Change(
        change_id=f"{alert.id}/{alert.version}",
        alert_id=alert.id,
        household_id=alert.household_id,
        from_version=from_version,
        kind="test",
        by="test",
        at=alert.updated_at,
        alert=alert,
    )


def history(seed: int, households: int = 120, steps: int = 500) -> list[Change]:
    """New alerts, random successors, stale and replayed changes, and households reopened after closing."""
    rng = random.Random(seed)
    latest: dict[str, Alert] = {}
    log: list[Change] = []
    for n in range(households):
        alert = new_alert(rng, n, f"H{n:04d}")
        latest[alert.household_id] = alert
        log.append(change(alert, 0))
    for n in range(steps):
        household = rng.choice(sorted(latest))
        current = latest[household]
        roll = rng.random()
        if roll < 0.08:
            log.append(rng.choice(log))  # a redelivered change: stale by now
        elif roll < 0.16 and current.status in ("dismissed", "resolved"):
            latest[household] = new_alert(rng, households + n, household)  # reopened: a new case
            log.append(change(latest[household], 0))
        else:
            latest[household] = changed(rng, current)
            log.append(change(latest[household], current.version))
            if roll > 0.95:
                log.append(change(changed(rng, current), current.version))  # a lost race: stale
    return log


async def project(store: AlertStore, log: list[Change], live: bool) -> dict[str, Alert]:
    """Apply the log; every stored alert by id, as the brute-force reference."""
    stored: dict[str, Alert] = {}
    for item in log:
        if await store.apply(item, live=live):
            stored[item.alert.id] = item.alert
    return stored


def overdue(alert: Alert, now: datetime) -> bool:
    return alert.status not in ("dismissed", "resolved") and (alert.overdue or is_overdue(alert, now))


def brute_force(alerts: dict[str, Alert], where: AlertFilter) -> list[str]:
    """The ids a filter over every alert keeps, newest first, ties by id descending."""
    kept = [
        a
        for a in alerts.values()
        if a.region_code.startswith(where.region_prefix)
        and a.region_code.startswith(where.region_code or "")
        and where.status in (None, a.status)
        and where.level in (None, a.level)
        and where.queue in (None, a.queue)
        and where.overdue in (None, overdue(a, NOW))
        and (where.risk_type is None or where.risk_type in a.risk_types)
    ]
    return [a.id for a in sorted(kept, key=lambda a: (a.created_at, a.id), reverse=True)]


def run(redis_url: str, scenario) -> None:
    async def main() -> None:
        redis = db9(redis_url)
        await redis.flushdb()
        try:
            await scenario(redis, AlertStore(redis))
        finally:
            await redis.aclose()

    asyncio.run(main())


async def ids(store: AlertStore, where: AlertFilter, offset: int = 0, limit: int = 500) -> tuple[list[str], int]:
    items, total = await store.search(where, offset, limit)
    return [item.id for item in items], total


def test_every_filter_combination_returns_what_a_filter_over_all_alerts_returns(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=1), live=True)
        assert len(alerts) > 120 and {a.status for a in alerts.values()} == set(STATUSES)
        assert {a.queue for a in alerts.values()} == {"township", "county"}
        assert {overdue(a, NOW) for a in alerts.values()} == {True, False}
        combos = itertools.product(
            PREFIXES, [None, *STATUSES], [None, "red", "yellow"], [None, "township", "county"], [None, True, False]
        )
        for prefix, status, level, queue, late in combos:
            where = AlertFilter(prefix, status, level, None, None, late, NOW, queue)
            expected = brute_force(alerts, where)
            assert await ids(store, where) == (expected, len(expected)), where

    run(redis_url, scenario)


def test_the_risk_type_filter_alone_and_with_every_other_returns_what_a_filter_over_all_alerts_returns(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=7), live=True)
        assert {t for a in alerts.values() for t in a.risk_types} == set(RISK_TYPES[:4])
        combos = itertools.product(
            PREFIXES, [None, "open", "confirmed"], [None, "red"], [None, "county"], [None, True], RISK_TYPES[:5]
        )
        for prefix, status, level, queue, late, risk_type in combos:
            where = AlertFilter(prefix, status, level, None, None, late, NOW, queue, risk_type)
            expected = brute_force(alerts, where)
            assert await ids(store, where) == (expected, len(expected)), where
        for offset in range(0, 60, 7):
            where = AlertFilter("53", risk_type="illness")
            assert await ids(store, where, offset, 7) == (brute_force(alerts, where)[offset : offset + 7],
                                                          len(brute_force(alerts, where)))  # fmt: skip

    run(redis_url, scenario)


def test_a_region_code_filter_narrows_the_jurisdiction_and_never_widens_it(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=2), live=True)
        for jurisdiction, region in itertools.product(["", "532328", "532328101"], ["53", "5323281", "532328102001"]):
            for status in (None, "open"):
                where = AlertFilter(jurisdiction, status, region_code=region, overdue=False, now=NOW)
                expected = brute_force(alerts, where)
                assert await ids(store, where) == (expected, len(expected)), where

    run(redis_url, scenario)


def test_offset_pages_follow_one_stable_order_with_the_same_total(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=3), live=True)
        for where in (
            AlertFilter("532328"),
            AlertFilter("532328", status="open"),
            AlertFilter("5323281", level="red"),
            AlertFilter("", queue="township"),
            AlertFilter("532328", overdue=False, now=NOW),
            AlertFilter("53", overdue=True, now=NOW),
        ):
            expected = brute_force(alerts, where)
            paged: list[str] = []
            for offset in range(0, len(expected) + 7, 7):
                page, total = await ids(store, where, offset, 7)
                assert total == len(expected), where
                paged += page
            assert paged == expected, where

    run(redis_url, scenario)


def test_everything_under_a_prefix_comes_in_one_page_however_many_alerts_it_holds(redis_url):
    async def scenario(redis, store):
        rng = random.Random(6)
        alerts = await project(store, [change(new_alert(rng, n, f"H{n:05d}"), 0) for n in range(1200)], live=False)
        where = AlertFilter("5323")
        expected = brute_force(alerts, where)
        assert len(expected) > 500 and await ids(store, where, 0, 10**9) == (expected, len(expected))

    run(redis_url, scenario)


def by_risk_type(alerts: list[Alert], every: bool) -> dict[str, dict[str, int]]:
    """Per risk type (every type, or those the alerts carry): open, confirmed and flagged-overdue cases carrying it."""
    found: dict[str, dict[str, int]] = {}
    for name in RISK_TYPES:
        mine = [a for a in alerts if name in a.risk_types]
        opened = [a for a in mine if a.status not in ("dismissed", "resolved")]
        if every or mine:
            found[name] = {"open": len(opened), "confirmed": sum(a.status in ("confirmed", "assisting") for a in mine),
                           "overdue": sum(a.overdue for a in opened)}  # fmt: skip
    return found


def brute_force_board(alerts: dict[str, Alert], prefix: str) -> dict:
    """The board counted over every alert inside the prefix."""
    inside = [a for a in alerts.values() if a.region_code.startswith(prefix)]
    opened = [a for a in inside if a.status not in ("dismissed", "resolved")]
    rows = {}
    for town in {a.region_code[:9] for a in inside}:
        mine = [a for a in opened if a.region_code[:9] == town]
        rows[town] = {
            "township": town,
            "total": sum(a.region_code[:9] == town for a in inside),
            "open": len(mine),
            "overdue": sum(overdue(a, NOW) for a in mine),
            "red": sum(a.level == "red" for a in mine),
            "yellow": sum(a.level == "yellow" for a in mine),
            "by_risk_type": by_risk_type([a for a in inside if a.region_code[:9] == town], every=False),
        }
    return {
        "region_code": prefix,
        "total": len(inside),
        "open": len(opened),
        "overdue": sum(overdue(a, NOW) for a in opened),
        "by_level": {"red": 0, "yellow": 0, **Counter(a.level for a in opened)},
        "by_status": dict(Counter(a.status for a in inside)),
        "by_township": sorted(rows.values(), key=lambda r: (-r["open"], r["township"])),
        "by_risk_type": by_risk_type(inside, every=True),
    }


def test_the_board_counts_what_a_count_over_all_alerts_counts(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=4), live=True)
        for prefix in PREFIXES:
            counted = board(prefix, NOW, await store.tallies(prefix, NOW)).model_dump(exclude={"generated_at"})
            assert counted == brute_force_board(alerts, prefix), prefix

    run(redis_url, scenario)


def test_the_calibration_counters_under_every_prefix_count_what_a_count_over_all_alerts_counts(redis_url):
    async def scenario(redis, store):
        alerts = await project(store, history(seed=6), live=True)
        assert {a.probability is None for a in alerts.values()} == {True, False}
        for prefix in PREFIXES:
            expected: Counter[str] = Counter()
            for alert in alerts.values():
                if alert.region_code.startswith(prefix):
                    for token in monitoring.calibration_tokens(alert).split():
                        name, step = token.rsplit("=", 1)
                        expected[name.removeprefix("m1|")] += int(step)
            assert await monitoring.calibration_counts(redis, "m1", prefix) == +expected, prefix

    run(redis_url, scenario)


def test_a_replay_into_a_wiped_redis_rebuilds_the_same_indexes_in_any_household_order(redis_url):
    async def scenario(redis, store):
        log = history(seed=5)
        await project(store, log, live=True)
        live = await dump(redis)
        assert await store.wipe() > 0 and await dump(redis) == {}
        by_household = sorted(log, key=lambda c: c.household_id[::-1])  # another interleaving, same per-household
        await project(store, by_household, live=False)
        assert await dump(redis) == live

    run(redis_url, scenario)


async def dump(redis) -> dict[str, object]:
    keys = sorted([k async for k in redis.scan_iter(match=index.PATTERN)] + await redis.keys(index.ALL_ALERTS))
    values: dict[str, object] = {}
    for key in keys:
        kind = await redis.type(key)
        read = {"zset": lambda k: redis.zrange(k, 0, -1, withscores=True), "hash": redis.hgetall}
        values[key] = await (read.get(kind) or redis.smembers)(key)
    return values
