"""Importing a names file into the directory as a job: batches of rows, each applied in one Lua step together with
the job's progress (its last line) and rejects, so a killed import resumes after its last batch, never applies a
row twice and never loses a reject. A job is named by the file's content and the importer's jurisdiction: importing
the same file again resumes an unfinished job or, once it is done, runs it again from the start.

Keys: `regions:job:{id}` hash (status, line, changed, unchanged, rejected, file, jurisdiction, by, times, error) and
`regions:job:{id}:rejects` list of JSON `{line, code, reason}`.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.common import failpoints
from services.regions.catalogue import initials
from services.regions.directory import COUNTIES, INITIALS, NAMES, VERSION
from services.regions.rows import Named, Refused, read

BATCH_ROWS = 1000
COUNTS = ("changed", "unchanged", "rejected")
REJECTS_KEPT = 1000  # refused rows a job lists (REGIONS_REJECTS_KEPT for the API); the counts count them all
MAX_ROWS = 1_000_000  # lines a names file may hold (REGIONS_IMPORT_MAX_ROWS for the API)
# KEYS: names, initials, version, counties, job, rejects. ARGV: the line the job must be at, the line after this
# batch, the number of rows n, the rejects kept at most, n × (code, name, initials), then each reject as JSON.
# -1: another run is elsewhere.
_APPLY_BATCH = """
if tonumber(redis.call('HGET', KEYS[5], 'line') or '-1') ~= tonumber(ARGV[1]) then return -1 end
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
redis.call('HINCRBY', KEYS[5], 'changed', changed)
redis.call('HINCRBY', KEYS[5], 'unchanged', n - changed)
redis.call('HINCRBY', KEYS[5], 'rejected', #ARGV - 4 - 3 * n)
redis.call('HSET', KEYS[5], 'line', ARGV[2])
if changed > 0 then redis.call('INCR', KEYS[3]) end
return changed
"""


class Overtaken(RuntimeError):
    """Another run of the same job moved its progress: this one stops."""


def job_key(job_id: str) -> str:
    """The job's record."""
    return f"regions:job:{job_id}"


def rejects_key(job_id: str) -> str:
    """The job's refused rows."""
    return f"regions:job:{job_id}:rejects"


def job_id_of(path: Path, jurisdiction: str) -> str:
    """The job's name: SHA-256 of the importer's jurisdiction and the file's bytes (read in 1 MB chunks)."""
    digest = hashlib.sha256(f"{jurisdiction}\n".encode())
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


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


class TooManyRows(ValueError):
    """The file holds more lines than an import takes."""


def _count_lines(path: Path, most: int) -> None:
    """Raise TooManyRows when the file has more than `most` lines (a header and every row)."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            if lines > most:
                raise TooManyRows(f"file: more than {most} lines (REGIONS_IMPORT_MAX_ROWS): split it")


class RegionImports:
    """Import jobs over one Redis; a job lists its first `rejects_kept` refused rows and takes files of at most
    `max_rows` lines."""

    def __init__(self, redis: Redis, rejects_kept: int = REJECTS_KEPT, max_rows: int = MAX_ROWS):
        self._redis = redis
        self._apply = redis.register_script(_APPLY_BATCH)
        self.rejects_kept = rejects_kept
        self._max_rows = max_rows

    async def job(self, job_id: str) -> dict[str, Any] | None:
        """The job's record (counts as numbers), or None."""
        raw = await self._redis.hgetall(job_key(job_id))
        if not raw:
            return None
        record: dict[str, Any] = {_str(k): _str(v) for k, v in raw.items()}
        for field in ("line", *COUNTS):
            record[field] = int(record.get(field) or 0)
        return record

    async def open(self, job_id: str, *, file: str, jurisdiction: str, by: str) -> dict[str, Any]:
        """Queue the job: an unfinished one keeps its progress; a new or finished one starts from the first line."""
        existing = await self.job(job_id)
        if existing is None or existing["status"] == "done":
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(job_key(job_id), rejects_key(job_id))
                pipe.hset(job_key(job_id), mapping={"id": job_id, "line": 0, **dict.fromkeys(COUNTS, 0)})
                await pipe.execute()
        fields = {"status": "queued", "file": file, "jurisdiction": jurisdiction, "by": by, "queued_at": _now()}
        await self._redis.hset(job_key(job_id), mapping=fields)  # type: ignore[arg-type]
        await self._redis.hdel(job_key(job_id), "error")
        return await self.job(job_id) or {}

    async def run(self, job_id: str, path: Path) -> dict[str, Any]:
        """Import the file from the job's last line on; the record says done, or failed with the reason."""
        record = await self.job(job_id)
        if record is None:
            raise KeyError(job_id)
        await self._redis.hset(job_key(job_id), mapping={"status": "running", "started_at": _now()})
        try:
            await asyncio.to_thread(_count_lines, path, self._max_rows + 1)
            await self._import(job_id, path, record["jurisdiction"], record["line"])
        except TooManyRows as exc:
            await self._fail(job_id, str(exc))
        except Overtaken:
            return await self.job(job_id) or {}
        except UnicodeDecodeError:
            await self._fail(job_id, "file: not UTF-8 text (save the file as UTF-8 and import it again)")
        except (OSError, csv.Error) as exc:
            await self._fail(job_id, f"file: {exc}")
        else:
            await self._redis.hset(job_key(job_id), mapping={"status": "done", "finished_at": _now()})
        return await self.job(job_id) or {}

    async def _fail(self, job_id: str, why: str) -> None:
        await self._redis.hset(job_key(job_id), mapping={"status": "failed", "error": why, "finished_at": _now()})

    async def _import(self, job_id: str, path: Path, jurisdiction: str, after: int) -> None:
        batches = _batches(path, jurisdiction, after)
        while (batch := await asyncio.to_thread(_prepared, batches)) is not None:
            last, rows, refused = batch
            args: list[str | int] = [after, last, len(rows), self.rejects_kept]
            for (code, name), short in rows:
                args += [code, name, short]
            args += [json.dumps({"line": r.line, "code": r.code, "reason": r.reason}, ensure_ascii=False)
                     for r in refused]  # fmt: skip
            keys = [NAMES, INITIALS, VERSION, COUNTIES, job_key(job_id), rejects_key(job_id)]
            if await self._apply(keys=keys, args=args) == -1:
                raise Overtaken(job_id)
            failpoints.reached("regions.batch_applied")
            after = last

    async def rejects(self, job_id: str) -> list[dict[str, Any]]:
        """The job's refused rows in file order: line, code, reason."""
        return [json.loads(item) for item in await self._redis.lrange(rejects_key(job_id), 0, -1)]

    async def unfinished(self) -> list[dict[str, Any]]:
        """Jobs queued or running (a stopped process left them), to resume."""
        found = []
        async for key in self._redis.scan_iter(match="regions:job:*", count=1000):
            name = _str(key)
            if name.endswith(":rejects"):
                continue
            record = await self.job(name.removeprefix("regions:job:"))
            if record and record.get("status") in ("queued", "running"):
                found.append(record)
        return found


async def import_file(
    redis: Redis, path: Path, jurisdiction: str, by: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Import a local file (a rerun resumes it); returns the job's record and its refused rows."""
    imports = RegionImports(redis)
    job_id = await asyncio.to_thread(job_id_of, path, jurisdiction)
    await imports.open(job_id, file=path.name, jurisdiction=jurisdiction, by=by)
    return await imports.run(job_id, path), await imports.rejects(job_id)


def _prepared(
    batches: Iterator[tuple[int, list[Named], list[Refused]]],
) -> tuple[int, list[tuple[tuple[str, str], str]], list[Refused]] | None:
    """The next batch with the pinyin initials of its names (in a thread: parsing and pypinyin take CPU)."""
    batch = next(batches, None)
    if batch is None:
        return None
    last, named, refused = batch
    return last, [((row.code, row.name), initials(row.name)) for row in named], refused


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
