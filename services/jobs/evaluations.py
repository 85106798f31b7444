"""Out-of-time evaluations (kind `evaluation`, on the evaluations queue): the API saves the uploaded files under
EVALUATION_DIR/{job} and queues the job (`POST /models/{version}/evaluations`); the jobs process runs it here
(EVALUATION_CONCURRENCY at a time) in a child process that alone parses the files and loads the analytics stack, so a
large upload never sits in the API."""

from __future__ import annotations

import asyncio
import shutil
import threading
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from services.common.job_queues import in_daemon_thread
from services.common.job_records import JobFailed, JobRecord
from services.common.settings import ScoringSettings
from services.jobs.child import die_with_parent, run_in_child


class Evaluator:
    """Runs each evaluation in a child process and removes its uploaded files once it has ended."""

    def __init__(self, root: Path):
        self._root = root

    async def evaluate(self, record: JobRecord) -> dict[str, Any]:
        """The job's work: score the uploaded period; its result is the evaluation's summary (a request or files the
        evaluation refuses fail it as refused, a child that died fails it: the same files would do it again)."""
        stop = threading.Event()  # set when the worker stops: the child is killed, the job runs again later
        try:
            outcome = await in_daemon_thread(_in_child_process, record.request, self._root / record.id, stop)
        except asyncio.CancelledError:
            stop.set()
            raise
        except RuntimeError as exc:
            outcome = {"error": str(exc), "refused": False}
        shutil.rmtree(self._root / record.id, ignore_errors=True)
        if "error" in outcome:
            raise JobFailed(outcome["error"], refused=outcome["refused"])
        summary: dict[str, Any] = outcome["summary"]
        return summary


def _in_child_process(request: dict[str, Any], files: Path, stop: threading.Event) -> Any:
    """Evaluate in a child process; killed when the job is stopped."""
    return run_in_child(_evaluate_child, (request, str(files)), "evaluation", stop)


def _evaluate_child(sending: Connection, request: dict[str, Any], files: str) -> None:
    die_with_parent()
    try:
        summary = run_evaluation(ScoringSettings(), request, Path(files))
        sending.send({"summary": summary})
    except ValueError as exc:  # the request or its files: refused with the reason (422)
        sending.send({"error": str(exc)[:1000], "refused": True})
    except Exception as exc:  # noqa: BLE001 - reported to the job's record
        sending.send({"error": f"{type(exc).__name__}: {exc}"[:1000], "refused": False})


def run_evaluation(settings: ScoringSettings, request: dict[str, Any], files: Path) -> dict[str, Any]:
    """Score the uploaded later period with the version exactly as the stream would; store and return the summary."""
    from services.analytics.history import group, read_events
    from services.analytics.labels import Labels, read_outcomes
    from services.analytics.out_of_time import evaluate_period, save_evaluation
    from services.analytics.training_set import later_cutoffs
    from services.common.policy import PolicyBook

    found = Labels(read_outcomes(files / request["labels_file"]))
    if request["at"]:
        cutoffs = sorted({date.fromisoformat(day.strip()) for day in request["at"].split(",") if day.strip()})
    else:
        cutoffs = later_cutoffs(found, date.fromisoformat(request["test_from"]))
    history, rejects = read_events(files / "events.jsonl", request["max_rejects"])
    result = evaluate_period(settings.model_dir, request["version"], group(history), found, cutoffs,
                             PolicyBook.load(settings.policy_dir))  # fmt: skip
    folder = settings.model_dir / request["version"] / "evaluations" / request["evaluation"]
    return save_evaluation(result, folder) | {"evaluation": request["evaluation"], "rejected": len(rejects)}
