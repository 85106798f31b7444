"""What grows with use is bounded: the audit trail is archived to files before it is trimmed, and an import's
rejects report keeps its first IMPORT_REJECTS_KEPT lines."""

import asyncio
import csv
import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.api.audit import AUDIT_STREAM
from services.api.audit_archive import archive_audit
from services.common.redis_connections import redis_client
from tests.infra import ROOT
from tests.integration.test_bulk_import import import_command, write_csv

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_audit_entries_past_the_retention_are_archived_to_files_and_only_then_trimmed(redis_url, tmp_path):
    old = [NOW - timedelta(days=800, minutes=n) for n in range(25)]
    recent = [NOW - timedelta(days=3, minutes=n) for n in range(5)]

    async def run() -> tuple[int, int, list[str]]:
        redis = redis_client(redis_url.rsplit("/", 1)[0] + "/8", decode_responses=True)
        await redis.flushdb()
        try:
            for at in sorted(old + recent):
                entry: dict[Any, Any] = {
                    "at": at.isoformat(),
                    "user": "li.worker",
                    "action": "alert.read",
                    "target": "A1",
                }
                await redis.xadd(AUDIT_STREAM, entry, id=f"{int(at.timestamp() * 1000)}-0")
            first = await archive_audit(redis, tmp_path / "audit", retention_days=730, now=NOW)
            again = await archive_audit(redis, tmp_path / "audit", retention_days=730, now=NOW)
            stream: Any = await redis.xrange(AUDIT_STREAM)
            left = [str(fields["at"]) for _, fields in stream]
            return first, again, left
        finally:
            await redis.flushdb()
            await redis.aclose()

    first, again, left = asyncio.run(run())
    assert (first, again) == (25, 0)
    assert left == [at.isoformat() for at in sorted(recent)]
    archived = [json.loads(line) for path in sorted((tmp_path / "audit").glob("audit-*.jsonl")) for line in path.open()]
    assert [entry["at"] for entry in archived] == [at.isoformat() for at in sorted(old)]
    assert all(entry["id"] and entry["user"] == "li.worker" for entry in archived)


def test_a_rejects_report_lists_its_first_lines_and_says_that_more_rows_were_refused(stack, tmp_path):
    file = tmp_path / "bad.csv"
    write_csv(file, 400, bad_every=20)  # 40 refused rows
    command = [*import_command(stack, tmp_path, file), "--rejects-kept", "10"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "'rejected': 40" in result.stdout
    with (tmp_path / "bad.csv.rejects.csv").open(encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert len(lines) == 1 + 10 + 1 and lines[-1][0] == "" and "more rows were refused" in lines[-1][2]
