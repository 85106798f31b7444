"""Every kind of job keeps the fields its status route has always answered, read from the one record shape
(services/common/job_views.py): the v1 fields under their names, additions optional."""

from __future__ import annotations

from services.common.job_records import JobRecord
from services.common.job_views import evaluation_view, file_import_view, names_import_view, training_view

QUEUED_AT, STARTED_AT, FINISHED_AT = (
    "2026-03-01T08:00:00+00:00",
    "2026-03-01T08:00:05+00:00",
    "2026-03-01T08:09:00+00:00",
)
GRANT = {"source_prefix": "/civil-affairs", "regions": ["532328"]}


def test_a_department_import_shows_its_request_then_its_counts_once_done():
    request = {"source": "/civil-affairs/532328", "mapping": "civil-income", "file": "april.csv", "grant": GRANT}
    queued = JobRecord("a" * 32, "import", "queued", submitted_at=QUEUED_AT, request=request)
    assert file_import_view(queued) == {"id": "a" * 32, "status": "queued", **request, "submitted_at": QUEUED_AT}
    done = JobRecord(
        "a" * 32,
        "import",
        "done",
        attempt=2,
        request=request,
        result={"rows": 3, "accepted": 2},
        started_at=STARTED_AT,
        finished_at=FINISHED_AT,
    )
    assert file_import_view(done) == {
        "id": "a" * 32,
        "status": "done",
        **request,
        "attempt": 2,
        "started_at": STARTED_AT,
        "finished_at": FINISHED_AT,
        "counts": {"rows": 3, "accepted": 2},
    }


def test_a_department_import_waiting_for_its_next_attempt_says_retrying_with_the_last_error():
    record = JobRecord("b" * 32, "import", "retrying", attempt=1, error="ingest unreachable", request={"file": "x"})
    view = file_import_view(record)
    assert (view["status"], view["error"], view["attempt"]) == ("retrying", "ingest unreachable", 1)


def test_a_names_import_shows_its_line_counts_file_jurisdiction_and_times():
    progress = {"line": 2000, "changed": 1990, "unchanged": 2, "rejected": 8}
    record = JobRecord(
        "c" * 64,
        "region_import",
        "running",
        by="reg.admin",
        region="532327",
        submitted_at=QUEUED_AT,
        started_at=STARTED_AT,
        attempt=2,
        request={"file": "yongren.csv"},
        progress=progress,
    )
    assert names_import_view(record) == {
        "id": "c" * 64,
        "status": "running",
        **progress,
        "file": "yongren.csv",
        "jurisdiction": "532327",
        "by": "reg.admin",
        "queued_at": QUEUED_AT,
        "started_at": STARTED_AT,
        "finished_at": None,
        "error": None,
        "attempt": 2,
    }


def test_a_names_import_waiting_for_its_next_attempt_is_shown_as_queued():
    record = JobRecord("d" * 64, "region_import", "retrying", submitted_at=QUEUED_AT, error="Redis went away")
    assert names_import_view(record)["status"] == "queued"


def test_a_training_shows_its_version_and_then_its_metrics_or_its_error():
    request = {"households": 300, "version": "trained-0123456789abcdef"}
    queued = JobRecord("0123456789abcdef", "training", "queued", by="admin", submitted_at=QUEUED_AT, request=request)
    assert training_view(queued) == {
        "job": "0123456789abcdef",
        "status": "queued",
        "version": "trained-0123456789abcdef",
        "by": "admin",
        "queued_at": QUEUED_AT,
    }
    done = JobRecord(
        "0123456789abcdef",
        "training",
        "done",
        by="admin",
        submitted_at=QUEUED_AT,
        started_at=STARTED_AT,
        finished_at=FINISHED_AT,
        attempt=1,
        request=request,
        result={"version": "trained-0123456789abcdef", "metrics": {"roc_auc": 0.8}},
    )
    assert training_view(done)["metrics"] == {"roc_auc": 0.8} and "error" not in training_view(done)
    failed = JobRecord(
        "0123456789abcdef",
        "training",
        "failed",
        by="admin",
        submitted_at=QUEUED_AT,
        attempt=5,
        error="RuntimeError: no labels",
        finished_at=FINISHED_AT,
        request=request,
    )
    assert (training_view(failed)["status"], training_view(failed)["error"]) == ("failed", "RuntimeError: no labels")
    assert "metrics" not in training_view(failed)


def test_an_evaluation_shows_its_request_then_its_summary_or_why_it_was_refused():
    request = {
        "version": "v1",
        "evaluation": "at-2026-12-31-20260301T080000",
        "at": "2026-12-31",
        "test_from": "",
        "max_rejects": 0,
        "labels_file": "labels.csv",
    }
    queued = JobRecord("fedcba9876543210", "evaluation", "queued", by="ana", submitted_at=QUEUED_AT, request=request)
    assert evaluation_view(queued) == {
        "job": "fedcba9876543210",
        "status": "queued",
        "by": "ana",
        "queued_at": QUEUED_AT,
        **request,
    }
    done = JobRecord(
        "fedcba9876543210",
        "evaluation",
        "done",
        by="ana",
        submitted_at=QUEUED_AT,
        request=request,
        result={"rows": 120},
    )
    assert evaluation_view(done)["summary"] == {"rows": 120}
    refused = JobRecord(
        "fedcba9876543210",
        "evaluation",
        "failed",
        by="ana",
        submitted_at=QUEUED_AT,
        request=request,
        error="at: inside the training labels",
        refused=True,
    )
    view = evaluation_view(refused)
    assert (view["status"], view["error"], view["refused"]) == ("failed", "at: inside the training labels", True)
