"""The job records of the version before the one record shape (`import:`, `regions:job:`, `jobs:training:`,
`jobs:evaluation:`) are converted once by the jobs process: each reads as its route answered it before, and a job that
version accepted and had not finished still runs."""

import asyncio
import json
from typing import Any

import pytest

from services.common import job_queues
from services.common.job_queues import FILE_IMPORT, MODEL_EVALUATION, MODEL_TRAINING, NAMES_IMPORT, job_queue
from services.common.job_records import JobRecord, JobStore
from services.common.job_views import evaluation_view, file_import_view, names_import_view, training_view
from services.common.redis_connections import redis_client
from services.common.settings import JobsSettings
from services.jobs.handlers import recorded
from services.jobs.upgrade import convert
from services.regions.importer import rejects_key

pytestmark = pytest.mark.integration
IMPORT_ID, OLDER_IMPORT_ID, NAMES_ID = "a" * 32, "b" * 32, "c" * 64
TRAINING_ID, EVALUATION_ID = "0123456789abcdef", "fedcba9876543210"
AT = "2026-03-01T08:00:00+00:00"
GRANT = {"source_prefix": "/civil-affairs", "regions": ["532328"]}
OLD_IMPORT = {
    "id": IMPORT_ID,
    "status": "done",
    "source": "/civil-affairs/532328",
    "mapping": "civil-income",
    "file": "april.csv",
    "grant": GRANT,
    "attempt": 1,
    "counts": {"rows": 3, "accepted": 2, "rejected": 1},
}
OLDER_IMPORT = {
    "id": OLDER_IMPORT_ID,
    "status": "queued",
    "source": "/civil-affairs/532328",
    "mapping": "civil-income",
    "file": "may.csv",
}
OLD_NAMES = {
    "id": NAMES_ID,
    "status": "running",
    "line": "2000",
    "changed": "1990",
    "unchanged": "0",
    "rejected": "10",
    "file": "yongren.csv",
    "jurisdiction": "532327",
    "by": "reg.admin",
    "queued_at": AT,
    "started_at": AT,
}
OLD_TRAINING = {
    "job": TRAINING_ID,
    "status": "queued",
    "version": "trained-0123456789abcdef",
    "by": "admin",
    "queued_at": AT,
}
OLD_EVALUATION = {
    "job": EVALUATION_ID,
    "status": "failed",
    "by": "ana",
    "queued_at": AT,
    "version": "v1",
    "evaluation": "at-2026-12-31-20260301T080000",
    "at": "2026-12-31",
    "test_from": "",
    "max_rejects": 0,
    "labels_file": "labels.csv",
    "started_at": AT,
    "attempt": 1,
    "finished_at": AT,
    "error": "at: inside the training labels",
    "refused": True,
}


async def write_the_earlier_version_s_records(redis: Any, settings: JobsSettings) -> None:
    """What the version before wrote: records, a names import's rejects and upload, a training waiting in its queue."""
    await redis.set(f"import:{IMPORT_ID}", json.dumps(OLD_IMPORT))
    await redis.set(f"import:{OLDER_IMPORT_ID}", json.dumps(OLDER_IMPORT))
    await redis.hset(f"regions:job:{NAMES_ID}", mapping=OLD_NAMES)
    await redis.rpush(f"regions:job:{NAMES_ID}:rejects", json.dumps({"line": 1, "code": "53232710100", "reason": "x"}))
    (settings.regions_import_dir / f"{NAMES_ID}.csv").write_text("532327101001,永仁村\n", encoding="utf-8")
    await redis.set(f"jobs:training:{TRAINING_ID}", json.dumps(OLD_TRAINING))
    await redis.hset("jobs:training:versions", "trained-0123456789abcdef", TRAINING_ID)
    await job_queue(settings.redis_url, job_queues.TRAINING).enqueue(
        "train_model", key=TRAINING_ID, job_id=TRAINING_ID, request={"households": 300, "seed": 5}, by="admin"
    )
    await redis.set(f"jobs:evaluation:{EVALUATION_ID}", json.dumps(OLD_EVALUATION))
    await redis.sadd("jobs:evaluation:open:ana", EVALUATION_ID)


def test_the_earlier_version_s_records_read_as_before_and_its_unfinished_jobs_still_run(redis_url, tmp_path):
    url = redis_url.rsplit("/", 1)[0] + "/7"
    settings = JobsSettings(redis_url=url, regions_import_dir=tmp_path, jobs_heartbeat_seconds=3)

    async def run() -> dict[str, Any]:
        redis = redis_client(url, decode_responses=True)
        await redis.flushdb()
        try:
            await write_the_earlier_version_s_records(redis, settings)
            converted = await convert(redis, settings), await convert(redis, settings)
            store = JobStore(redis)
            training_queue = job_queue(url, job_queues.TRAINING)
            queued_training = await training_queue.job(TRAINING_ID)
            assert queued_training is not None

            async def train(record: JobRecord) -> dict[str, Any]:
                return {"version": record.request["version"], "metrics": {"households": record.request["households"]}}

            _, train_model = recorded(MODEL_TRAINING, store, train, 3)
            await train_model(
                {"job": queued_training}, **(queued_training.kwargs or {})
            )  # as the earlier version queued it
            return {
                "converted": converted,
                "import": await store.get(FILE_IMPORT, IMPORT_ID),
                "older import": await store.get(FILE_IMPORT, OLDER_IMPORT_ID),
                "names": await store.get(NAMES_IMPORT, NAMES_ID),
                "rejects": await redis.llen(rejects_key(NAMES_ID)),
                "names queued": await job_queue(url, job_queues.IMPORTS).job(NAMES_ID),
                "training": await store.get(MODEL_TRAINING, TRAINING_ID),
                "evaluation": await store.get(MODEL_EVALUATION, EVALUATION_ID),
                "open evaluations": await store.open_count(MODEL_EVALUATION, "ana"),
                "left": sorted(
                    [key async for key in redis.scan_iter("*") if not key.startswith(("jobs:record:", "saq:"))]
                ),
            }
        finally:
            await redis.flushdb()
            await redis.aclose()

    found = asyncio.run(run())
    assert found["converted"] == (5, 0)  # once: the second pass finds the marker
    assert file_import_view(found["import"]) == OLD_IMPORT
    assert file_import_view(found["older import"]) == OLDER_IMPORT | {
        "grant": {"source_prefix": "/civil-affairs/532328", "regions": None}
    }
    names = names_import_view(found["names"])
    assert names == {
        **OLD_NAMES,
        "line": 2000,
        "changed": 1990,
        "unchanged": 0,
        "rejected": 10,
        "finished_at": None,
        "error": None,
        "attempt": 0,
    }
    assert found["rejects"] == 1 and found["names queued"] is not None  # the API ran it before: now the jobs process
    training = training_view(found["training"])
    assert (training["status"], training["version"], training["metrics"]) == (
        "done",
        OLD_TRAINING["version"],
        {"households": 300},
    )
    assert evaluation_view(found["evaluation"]) == OLD_EVALUATION and found["open evaluations"] == 0
    assert found["left"] == [
        "jobs:open:region_import:reg.admin",
        "jobs:records:upgraded",
        "jobs:training:versions",
        rejects_key(NAMES_ID),
    ]
