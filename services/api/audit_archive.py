"""Audit retention: entries older than AUDIT_RETENTION_DAYS are written to files, then trimmed from Redis.

Run by the jobs process every ten minutes. Each chunk of up to CHUNK entries goes to
`AUDIT_ARCHIVE_DIR/audit-<first entry id>.jsonl` (one JSON object per line: id, at, user, action, target), written to
a temporary file, flushed to disk and renamed, and only then trimmed from the stream. A crash between the two
rewrites the same file on the next run (same first id, the same or more entries): nothing is trimmed unarchived.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.api.audit import AUDIT_STREAM

CHUNK = 10_000


def _after(entry_id: str) -> str:
    """The stream id right after `entry_id`."""
    ms, _, sequence = entry_id.partition("-")
    return f"{ms}-{int(sequence) + 1}"


def _write(path: Path, entries: list[tuple[str, dict[str, str]]]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        for entry_id, fields in entries:
            handle.write(json.dumps({"id": entry_id, **fields}, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


async def archive_audit(redis: Redis, folder: Path, retention_days: float, now: datetime | None = None) -> int:
    """Archive and trim every audit entry older than the retention; returns how many were archived."""
    cutoff = int((now or datetime.now(UTC)).timestamp() * 1000 - retention_days * 86_400_000)
    archived = 0
    while True:
        found: Any = await redis.xrange(AUDIT_STREAM, "-", f"({cutoff}-0", count=CHUNK)
        if not found:
            return archived
        entries = [(_text(entry_id), {_text(k): _text(v) for k, v in fields.items()}) for entry_id, fields in found]
        folder.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_write, folder / f"audit-{entries[0][0]}.jsonl", entries)
        await redis.xtrim(AUDIT_STREAM, minid=_after(entries[-1][0]), approximate=False)
        archived += len(entries)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
