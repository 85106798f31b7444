"""Bulk import of department files (CSV, JSONL, XLSX): rows → events → ingest, resumable, with a rejects report."""

from __future__ import annotations

import csv
import itertools
import json
import zipfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from tenacity import retry, stop_after_attempt, wait_exponential

from services.common.settings import ImportLimits
from services.common.spreadsheets import spreadsheet_writer
from services.ingest.mapping import Mapping, RowError

BATCH = "application/cloudevents-batch+json"
REJECTS_KEPT = 100_000  # lines of a rejects report (IMPORT_REJECTS_KEPT for the jobs process)


class FileRefused(ValueError):
    """The file itself cannot be imported (its kind, its format, its size): trying it again would not help."""


class WorkbookTooLarge(FileRefused):
    """An XLSX file unpacks to more than the import limits allow (a zip bomb, or a file to split)."""


def check_workbook(path: Path, limits: ImportLimits) -> None:
    """Refuse an XLSX whose parts unpack past the limits, from the sizes its zip directory declares (zipfile never
    unpacks an entry past its declared size), before any part of it is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FileRefused(f"{path.name}: not an XLSX file (not a zip archive)") from exc
    shared = sum(entry.file_size for entry in entries if entry.filename.lower().endswith("sharedstrings.xml"))
    total = sum(entry.file_size for entry in entries)
    if shared > limits.import_xlsx_max_shared_strings_bytes:
        raise WorkbookTooLarge(
            f"{path.name}: its shared strings unpack to {shared} bytes, more than the "
            f"{limits.import_xlsx_max_shared_strings_bytes} allowed (IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES)"
        )
    if total > limits.import_xlsx_max_unpacked_bytes:
        raise WorkbookTooLarge(
            f"{path.name}: it unpacks to {total} bytes, more than the {limits.import_xlsx_max_unpacked_bytes} "
            "allowed (IMPORT_XLSX_MAX_UNPACKED_BYTES): split it, or send it as CSV"
        )


def read_rows(path: Path, limits: ImportLimits | None = None) -> Iterator[dict[str, str]]:
    """Stream a file's rows as {header: value}, in constant memory (an XLSX is checked against `limits` first)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield {key: "" if value is None else str(value) for key, value in json.loads(line).items()}
    elif suffix == ".xlsx":
        from openpyxl import load_workbook  # only XLSX imports need it
        from openpyxl.utils.exceptions import InvalidFileException

        check_workbook(path, limits or ImportLimits())
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (InvalidFileException, KeyError, zipfile.BadZipFile) as exc:
            raise FileRefused(f"{path.name}: not a readable XLSX workbook ({exc})") from exc
        rows = workbook.active.iter_rows(values_only=True)  # type: ignore[union-attr]
        headers = [str(cell) for cell in next(rows)]
        for values in rows:
            yield {h: "" if v is None else _cell(v) for h, v in zip(headers, values, strict=False)}
        workbook.close()
    else:
        raise FileRefused(f"{path.name}: only .csv, .jsonl and .xlsx files can be imported")


def _cell(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


@dataclass
class ImportReport:
    """What happened to the rows of one file."""

    rows: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped_as_done: int = 0

    def as_dict(self) -> dict[str, int]:
        """Counts for printing or JSON."""
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


class Checkpoint:
    """The last row whose batch ingest acknowledged; a restarted import continues after it."""

    def __init__(self, input_path: Path):
        self.path = input_path.with_name(input_path.name + ".progress")

    def load(self) -> int:
        """Rows already done (0 for a new import)."""
        return int(self.path.read_text()) if self.path.exists() else 0

    def save(self, row_number: int) -> None:
        """Record progress atomically."""
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(str(row_number))
        temporary.replace(self.path)


class Importer:
    """Sends a file's rows to ingest in batches; bad rows go to `<file>.rejects.csv` with row, field and reason.

    `in_flight` batches travel at once so reading the file and ingest's work overlap; outcomes are taken in
    file order, so the checkpoint only ever moves past rows whose batch was acknowledged.
    """

    def __init__(
        self,
        mapping: Mapping,
        ingest_url: str,
        ingest_key: str,
        batch_size: int = 1000,
        in_flight: int = 3,
        rejects_kept: int = REJECTS_KEPT,
        headers: dict[str, str] | None = None,
    ):
        self._rejects_kept = rejects_kept
        self._mapping = mapping
        headers = {"authorization": f"Bearer {ingest_key}", "content-type": BATCH, **(headers or {})}
        self._client = httpx.Client(base_url=ingest_url, headers=headers, timeout=60)
        self._batch_size = batch_size
        self._in_flight = in_flight

    def run(self, path: Path, progress: Any = None) -> ImportReport:
        """Import `path`; resumes after the last acknowledged batch of an earlier, interrupted run."""
        checkpoint, report = Checkpoint(path), ImportReport()
        done = checkpoint.load()
        rejects = RejectsReport(path.with_name(path.name + ".rejects.csv"), done, self._rejects_kept)
        batch: list[tuple[int, dict[str, Any]]] = []
        sent: deque[tuple[int, list[tuple[int, dict[str, Any]]], Future[list[dict[str, Any]]]]] = deque()
        first = 1 if path.suffix.lower() in (".jsonl", ".ndjson") else 2  # spreadsheet rows count the header

        def settle_oldest() -> None:
            last_row, rows, outcome = sent.popleft()
            self._count(rows, outcome.result(), report, rejects)
            checkpoint.save(last_row)

        with rejects, ThreadPoolExecutor(self._in_flight) as pool:
            for number, row in enumerate(read_rows(path), start=first):
                report.rows += 1
                if number <= done:
                    report.skipped_as_done += 1
                    continue
                try:
                    batch.append((number, self._mapping.to_event(path.name, row)))
                except RowError as exc:
                    rejects.add(report, number, [(exc.field, exc.reason)])
                if len(batch) >= self._batch_size:
                    sent.append((number, batch, pool.submit(self._post, [event for _, event in batch])))
                    batch = []
                    if len(sent) >= self._in_flight:
                        settle_oldest()
                if progress is not None:
                    progress(1)
            if batch:
                sent.append((number, batch, pool.submit(self._post, [event for _, event in batch])))
            while sent:
                settle_oldest()
            checkpoint.save(max(done, first + report.rows - 1))
        return report

    @staticmethod
    def _count(
        batch: list[tuple[int, dict[str, Any]]],
        results: list[dict[str, Any]],
        report: ImportReport,
        rejects: RejectsReport,
    ) -> None:
        for (number, _), result in zip(batch, results, strict=True):
            if result["status"] == "rejected":
                rejects.add(report, number, [(e["field"], e["reason"]) for e in result.get("errors", [])])
            else:
                setattr(report, result["status"], getattr(report, result["status"]) + 1)
        rejects.flush()

    @retry(stop=stop_after_attempt(8), wait=wait_exponential(multiplier=0.5, max=30), reraise=True)
    def _post(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self._client.post("/events", content=json.dumps(events, ensure_ascii=False).encode())
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results


class RejectsReport:
    """`<file>.rejects.csv`: row number, field and reason for each refused row, its first `lines` lines only (then a
    line saying that more were refused; the counts still count them all); resumes without repeats."""

    def __init__(self, path: Path, keep_rows_up_to: int, lines: int = REJECTS_KEPT):
        kept: list[list[str]] = []
        if keep_rows_up_to and path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                rows = itertools.islice(csv.reader(handle), 1, lines + 1)
                kept = [line for line in rows if line[0].isdigit() and int(line[0]) <= keep_rows_up_to]
        self._room, self._lines = lines - len(kept), lines
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = spreadsheet_writer(self._handle)
        self._writer.writerows([["row", "field", "reason"], *kept])

    def add(self, report: ImportReport, number: int, errors: list[tuple[str, str]]) -> None:
        """Record one refused row (one line per reason, while there is room)."""
        report.rejected += 1
        for field_name, reason in errors:
            if self._room > 0:
                self._writer.writerow([number, field_name, reason])
            elif self._room == 0:
                note = f"more rows were refused: the report lists its first {self._lines} lines (IMPORT_REJECTS_KEPT)"
                self._writer.writerow(["", "", note])
            self._room -= 1

    def flush(self) -> None:
        """Make the lines so far durable before the checkpoint moves."""
        self._handle.flush()

    def __enter__(self) -> RejectsReport:
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.close()
