"""Bulk import: a medical-insurance CSV of person-level rows (Chinese headers, fen), file → canonical topic."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psutil

from bench import clients, events
from bench.config import Knobs
from bench.results_model import Results
from bench.stack import BenchStack
from bench.stats import rounded
from services.common import topics
from services.common.identity import check_digit
from services.common.settings import REPO_ROOT

MAPPING = REPO_ROOT / "deploy" / "mappings" / "medical-insurance.toml"
HEADERS = ["结算单号", "身份证号", "行政区划代码", "就诊日期", "总费用", "自付金额", "病种类别"]
ROWS_PER_PERSON = 25  # a person's settlements over a couple of years
MEMBERS = 3


def resident_id(n: int) -> str:
    """The n-th distinct valid resident ID number of the county (GB 11643 check digit)."""
    born = date(1950, 1, 1) + timedelta(days=n // 1000)
    first17 = f"{events.COUNTY}{born:%Y%m%d}{n % 1000:03d}"
    return first17 + check_digit(first17)


def write_file(path: Path, rows: int, people: int) -> None:
    """`rows` settlements of `people` registered persons, amounts in fen, dates as 2025/03/05."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(rows):
            person = n % people
            day = date(2024, 1, 1) + timedelta(days=n // people % 700)
            region = events.region_code(person // MEMBERS, 50)
            writer.writerow([f"JS{n:09d}", resident_id(person), region, f"{day:%Y/%m/%d}", 85000, 21000, "chronic"])


async def register_people(bench: BenchStack, people: int) -> None:
    """Register the households the rows' persons belong to (MEMBERS each, resident IDs as member_ids)."""
    households = -(-people // MEMBERS)
    batch = []
    async with clients.ingest_client(bench.services, 2) as client:
        for h in range(households):
            event = events.registration(f"IMP{h:07d}", events.region_code(h, 50), MEMBERS, 30000, f"imp-reg-{h}")
            event["data"]["member_ids"] = [resident_id(h * MEMBERS + m) for m in range(MEMBERS)]
            batch.append(event)
            if len(batch) == 1000 or h == households - 1:
                body = await clients.post_batch(client, batch)
                if body["rejected"]:
                    raise RuntimeError(f"registrations refused: {body['results'][:3]}")
                batch = []


def _run_import(file: Path, bench: BenchStack) -> tuple[float, int, str]:
    """Run the import CLI; returns (seconds, its peak RSS in bytes, its output)."""
    stack = bench.services
    command = [sys.executable, "-m", "services.ingest.cli", "import", str(file), "--mapping", str(MAPPING)]
    env = {**os.environ, "INGEST_URL": stack.ingest_url, "INGEST_KEY": stack.ingest_key, "COLUMNS": "120"}
    start, peak = time.monotonic(), 0
    with file.with_suffix(".out").open("wb") as out:
        process = psutil.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, process.memory_info().rss)
            time.sleep(0.2)
    seconds = time.monotonic() - start
    output = file.with_suffix(".out").read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"import exited with {process.returncode}: {output[-500:]}")
    return seconds, peak, output


async def measure(bench: BenchStack, knobs: Knobs, results: Results, say: Callable[[str], None]) -> None:
    """Rows per second from the file to the canonical topic, and the importer's peak memory."""
    people = max(1, knobs.import_rows // ROWS_PER_PERSON)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        file = Path(folder) / "medical-insurance.csv"
        await asyncio.to_thread(write_file, file, knobs.import_rows, people)
        say(f"import: {knobs.import_rows:,} rows of {people:,} persons written ({file.stat().st_size / 1e6:.0f} MB)")
        await register_people(bench, people)
        admin = clients.admin(bench.services)
        try:
            before = sum(clients.end_offsets(admin, topics.CANONICAL).values())
            seconds, peak, output = await asyncio.to_thread(_run_import, file, bench)
            landed = sum(clients.end_offsets(admin, topics.CANONICAL).values()) - before
        finally:
            admin.close()
    say(f"import: {landed:,} events on the canonical topic in {seconds:.1f} s; importer said {output[-300:]!r}")
    note = None if landed >= knobs.import_rows else f"only {landed} of {knobs.import_rows} rows reached the topic"
    results.details["import"] = {"rows": knobs.import_rows, "people": people, "seconds": round(seconds, 2)}
    results.put("import_rows_per_s", rounded(knobs.import_rows / seconds), note)
    results.put("import_peak_rss_mb", rounded(peak / 2**20))
