"""Importing a names file into the directory as a job (kind `region_import`, on the imports queue): batches of rows,
each applied in one Lua step together with the job's progress in its record (its last line and counts) and its
rejects, so a killed import resumes after its last batch, never applies a row twice and never loses a reject. A job
is named by the file's content and the importer's jurisdiction: importing the same file again resumes an unfinished
job or, once it is done, runs it again from the start.

Keys: the job's record (services/common/job_records.py: request `file`, region the jurisdiction, progress `line`,
`changed`, `unchanged`, `rejected`) and `regions:rejects:{id}`, a list of JSON `{line, code, reason}`.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.common import failpoints
from services.common.job_queues import NAMES_IMPORT
from services.common.job_records import DONE, JobFailed, JobOvertaken, JobRecord, JobStore, record_key, run_recorded
from services.common.job_views import names_import_view
from services.regions.catalogue import initials
from services.regions.directory import COUNTIES, INITIALS, NAMES, VERSION
from services.regions.rows import Named, Refused, read

BATCH_ROWS = 1000
COUNTS = ("changed", "unchanged", "rejected")
REJECTS_KEPT = 1000  # refused rows a job lists (REGIONS_REJECTS_KEPT for the jobs process); the counts count all
MAX_ROWS = 1_000_000  # lines a names file may hold (REGIONS_IMPORT_MAX_ROWS for the jobs process)
# KEYS: names, initials, version, counties, the job's record, rejects. ARGV: the line the job must be at, the line
# after this batch, the number of rows n, the rejects kept at most, n × (code, name, initials), then each reject as
# JSON. -1: another run is elsewhere.
_APPLY_BATCH = """
if tonumber(redis.call('HGET', KEYS[5], 'progress:line') or '-1') ~= tonumber(ARGV[1]) then return -1 end
local n = tonumber(ARGV[3])
local changed = 0
for i = 0, n - 1 do
  local code, name, short = ARGV[5 + 3 * i], ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  local old = redis.call('HGET', KEYS[1], code)
  if old ~= name then
    local county = string.sub(code, 1, 6)
    local find = 'regions:find:' .. county
    if old then
      local old_short = redis.call('HGET', KEYS[2], code) or ''
      redis.call('ZREM', find, old .. '\\0' .. code, old_short .. '\\0' .. code)
    end
    redis.call('HSET', KEYS[1], code, name)
    redis.call('HSET', KEYS[2], code, short)
    redis.call('ZADD', find, 0, name .. '\\0' .. code, 0, short .. '\\0' .. code, 0, code .. '\\0' .. code)
    redis.call('SADD', KEYS[4], county)
    changed = changed + 1
  end
end
local room = tonumber(ARGV[4]) - redis.call('LLEN', KEYS[6])
for i = 5 + 3 * n, math.min(#ARGV, 4 + 3 * n + room) do redis.call('RPUSH', KEYS[6], ARGV[i]) end
redis.call('HINCRBY', KEYS[5], 'progress:changed', changed)
redis.call('HINCRBY', KEYS[5], 'progress:unchanged', n - changed)
redis.call('HINCRBY', KEYS[5], 'progress:rejected', #ARGV - 4 - 3 * n)
redis.call('HSET', KEYS[5], 'progress:line', ARGV[2])
if changed > 0 then redis.call('INCR', KEYS[3]) end
return changed
"""


def rejects_key(job_id: str) -> str:
    """The job's refused rows."""
    return f"regions:rejects:{job_id}"


def upload_path(folder: Path, job_id: str) -> Path:
    """Where a names file uploaded over HTTP waits until its job has imported it (REGIONS_IMPORT_DIR)."""
    return folder / f"{job_id}.csv"


def job_id_of(path: Path, jurisdiction: str) -> str:
    """The job's name: SHA-256 of the importer's jurisdiction and the file's bytes (read in 1 MB chunks)."""
    digest = hashlib.sha256(f"{jurisdiction}\n".encode())
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _batches(path: Path, jurisdiction: str, after: int) -> Iterator[tuple[int, list[Named], list[Refused]]]:
    named: list[Named] = []
    refused: list[Refused] = []
    last = after
    for row in read(path, jurisdiction):
        if row.line <= after:
            continue
        (named if isinstance(row, Named) else refused).append(row)  # type: ignore[arg-type]
        last = row.line
        if len(named) + len(refused) >= BATCH_ROWS:
            yield last, named, refused
            named, refused = [], []
    yield last, named, refused


def _count_lines(path: Path, most: int) -> None:
    """Refuse the file when it has more than `most` lines (a header and every row)."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            if lines > most:
                raise JobFailed(f"file: more than {most} lines (REGIONS_IMPORT_MAX_ROWS): split it", refused=True)


class RegionImports:
    """Names imports over one Redis; a job lists its first `rejects_kept` refused rows and takes files of at most
    `max_rows` lines."""

    def __init__(self, store: JobStore, rejects_kept: int = REJECTS_KEPT, max_rows: int = MAX_ROWS):
        self.store = store
        self._redis = store.redis
        self._apply = store.redis.register_script(_APPLY_BATCH)
        self.rejects_kept = rejects_kept
        self._max_rows = max_rows

    async def open(self, job_id: str, *, file: str, jurisdiction: str, by: str) -> JobRecord:
        """Record the job as queued: an unfinished one keeps its progress; a new or done one starts from line 0."""
        existing = await self.store.get(NAMES_IMPORT, job_id)
        fresh = existing is None or existing.status == DONE
        if fresh:
            await self._redis.delete(rejects_key(job_id))
        return await self.store.submit(NAMES_IMPORT, job_id, by=by, region=jurisdiction, request={"file": file},
                                       progress={"line": 0, **dict.fromkeys(COUNTS, 0)} if fresh else None)  # fmt: skip

    async def apply(self, record: JobRecord, path: Path) -> dict[str, Any]:
        """The job's work: import the file from its record's last line on, within its jurisdiction."""
        try:
            await asyncio.to_thread(_count_lines, path, self._max_rows + 1)
            await self._import(record.id, path, record.region, record.progress.get("line", 0))
        except UnicodeDecodeError as exc:
            raise JobFailed("file: not UTF-8 text (save the file as UTF-8 and import it again)", refused=True) from exc
        except (OSError, csv.Error) as exc:
            raise JobFailed(f"file: {exc}", refused=True) from exc
        return {}

    async def _import(self, job_id: str, path: Path, jurisdiction: str, after: int) -> None:
        batches = _batches(path, jurisdiction, after)
        while (batch := await asyncio.to_thread(_prepared, batches)) is not None:
            last, rows, refused = batch
            args: list[str | int] = [after, last, len(rows), self.rejects_kept]
            for (code, name), short in rows:
                args += [code, name, short]
            args += [json.dumps({"line": r.line, "code": r.code, "reason": r.reason}, ensure_ascii=False)
                     for r in refused]  # fmt: skip
            keys = [NAMES, INITIALS, VERSION, COUNTIES, record_key(NAMES_IMPORT, job_id), rejects_key(job_id)]
            if await self._apply(keys=keys, args=args) == -1:
                raise JobOvertaken(job_id)
            failpoints.reached("regions.batch_applied")
            after = last

    async def rejects(self, job_id: str) -> list[dict[str, Any]]:
        """The job's refused rows in file order: line, code, reason."""
        return [json.loads(item) for item in await self._redis.lrange(rejects_key(job_id), 0, -1)]


async def import_file(
    redis: Redis, path: Path, jurisdiction: str, by: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Import a local file here and now (a rerun resumes it); returns the job as staff see it and its refused rows."""
    imports = RegionImports(JobStore(redis))
    job_id = await asyncio.to_thread(job_id_of, path, jurisdiction)
    await imports.open(job_id, file=path.name, jurisdiction=jurisdiction, by=by)
    record = await run_recorded(imports.store, NAMES_IMPORT, job_id, lambda found: imports.apply(found, path))
    assert record is not None  # opened just above
    return names_import_view(record), await imports.rejects(job_id)


def _prepared(
    batches: Iterator[tuple[int, list[Named], list[Refused]]],
) -> tuple[int, list[tuple[tuple[str, str], str]], list[Refused]] | None:
    """The next batch with the pinyin initials of its names (in a thread: parsing and pypinyin take CPU)."""
    batch = next(batches, None)
    if batch is None:
        return None
    last, named, refused = batch
    return last, [((row.code, row.name), initials(row.name)) for row in named], refused
