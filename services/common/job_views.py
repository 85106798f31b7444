"""Each kind of job as its v1 status route shows it, read from the one record shape (services/common/job_records.py):
the fields each route has always answered, under their old names; a field added since is optional."""

from __future__ import annotations

from typing import Any

from services.common.job_records import DONE, FAILED, JobRecord


def _times(record: JobRecord) -> dict[str, Any]:
    """When the job's latest run started and when it ended, those known, and its attempts."""
    found = {"started_at": record.started_at, "attempt": record.attempt or None, "finished_at": record.finished_at}
    return {name: value for name, value in found.items() if value is not None}


def file_import_view(record: JobRecord) -> dict[str, Any]:
    """`GET /imports/{id}` (ingest): id, status (retrying included), source, mapping, file, grant; then attempt, error
    and `counts` once done; `submitted_at`, `started_at`, `finished_at` added."""
    view = {"id": record.id, "status": record.status, **record.request, **_times(record)}
    if record.submitted_at:
        view["submitted_at"] = record.submitted_at
    if record.error:
        view["error"] = record.error
    if record.status == DONE:
        view["counts"] = record.result
    return view


def names_import_view(record: JobRecord) -> dict[str, Any]:
    """`GET /regions/import/{id}`: the last file line applied, the counts, the file, jurisdiction, who and when;
    `attempt` added."""
    counts = {name: record.progress.get(name, 0) for name in ("line", "changed", "unchanged", "rejected")}
    return {
        "id": record.id,
        "status": record.plain_status,
        **counts,
        "file": record.request.get("file", ""),
        "jurisdiction": record.region,
        "by": record.by,
        "queued_at": record.submitted_at or "",
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "error": record.error,
        "attempt": record.attempt,
    }


def training_view(record: JobRecord) -> dict[str, Any]:
    """`GET /models/train/{job}`: job, status, version, by, queued_at; then started_at, attempt, finished_at, and
    `metrics` once done or `error`."""
    view = {
        "job": record.id,
        "status": record.plain_status,
        "version": record.request.get("version"),
        "by": record.by,
        "queued_at": record.submitted_at,
        **_times(record),
    }
    if record.status == DONE and record.result is not None:
        view["metrics"] = record.result.get("metrics")
    if record.error:
        view["error"] = record.error
    return view


def evaluation_view(record: JobRecord) -> dict[str, Any]:
    """`GET /models/{version}/evaluations/jobs/{job}`: job, status, by, queued_at and the request (version,
    evaluation, at, test_from, max_rejects, labels_file); then started_at, attempt, finished_at, and `summary` once
    done or `error` (with `refused` once failed)."""
    view = {
        "job": record.id,
        "status": record.plain_status,
        "by": record.by,
        "queued_at": record.submitted_at,
        **record.request,
        **_times(record),
    }
    if record.status == DONE:
        view["summary"] = record.result
    if record.error:
        view["error"] = record.error
    if record.status == FAILED:
        view["refused"] = record.refused
    return view
