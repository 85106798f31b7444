"""Demo county for `make run`: a seeded synthetic county streamed to ingest so alerts appear."""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Iterator
from typing import Any

import httpx
from tenacity import retry, stop_after_delay, wait_fixed

COUNTY = "532328"  # Yuanmou county, Yunnan (monitoring line 8,700 in 2025: policy/2025.toml)
TOWNSHIPS = ("101", "102", "103")
SOURCE = "/civil-affairs/532328"
MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]
SEASONALITY = (0.7, 0.8, 0.9, 1.0, 1.0, 1.1, 1.1, 1.2, 1.3, 1.2)  # harvest months earn more


def _event(event_id: str, event_type: str, time: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }


def county_events(households: int, seed: int) -> Iterator[dict[str, Any]]:
    """Registrations and monthly incomes; about one household in five lives below the line."""
    rng = random.Random(seed)
    for n in range(households):
        township = TOWNSHIPS[n % len(TOWNSHIPS)]
        household_id = f"YM{township}{n:05d}"
        members = rng.randint(1, 6)
        per_capita = rng.lognormvariate(9.3, 0.35)  # median ≈ 10,900 yuan per person
        annual = round(per_capita * members, 2)
        yield _event(
            f"reg-{household_id}",
            "household.registered",
            "2025-01-15T09:00:00+08:00",
            {
                "household_id": household_id,
                "region_code": f"{COUNTY}{township}{rng.randint(1, 4):03d}",
                "members": members,
                "labourers": rng.randint(0, members),
                "category": rng.choice(["poverty_exited", "poverty_exited", "ordinary"]),
                "annual_net_income": annual,
            },
        )
        for month, season in zip(MONTHS, SEASONALITY, strict=True):
            yield _event(
                f"inc-{household_id}-{month}",
                "income.reported",
                f"{month}-28T18:00:00+08:00",
                {
                    "household_id": household_id,
                    "period": month,
                    "income_source": "wage",
                    "amount": round(annual / 12 * season * rng.uniform(0.85, 1.15), 2),
                },
            )


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def _post(client: httpx.Client, batch: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/events", json=batch, headers={"content-type": "application/cloudevents-batch+json"})
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def main() -> None:
    """Stream the demo county to ingest, then wait (so the supervisor keeps the other services up)."""
    url, key = os.environ["DEMO_INGEST_URL"], os.environ["DEMO_INGEST_KEY"]
    households = int(os.environ.get("DEMO_HOUSEHOLDS", "300"))
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0}
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=30) as client:
        batch: list[dict[str, Any]] = []
        for event in county_events(households, seed=int(os.environ.get("DEMO_SEED", "7"))):
            batch.append(event)
            if len(batch) == 500:
                result = _post(client, batch)
                totals = {k: totals[k] + result[k] for k in totals}
                batch = []
        if batch:
            result = _post(client, batch)
            totals = {k: totals[k] + result[k] for k in totals}
    print(f"demo county {COUNTY}: {households} households streamed: {totals}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


if __name__ == "__main__":
    main()
