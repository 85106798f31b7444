"""Trainings (kind `training`, on the training queue): the API records and queues one (`POST /models/train`), the jobs
process runs it here in a child process, which alone loads the training stack (scikit-learn and the simulator)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from multiprocessing.connection import Connection
from typing import Any

from services.analytics import registry
from services.analytics.requests import TrainRequest, training_version
from services.common.job_queues import in_daemon_thread
from services.common.job_records import JobRecord
from services.common.settings import ScoringSettings
from services.jobs.child import die_with_parent, run_in_child
from services.scoring.model import ModelManifest, ModelRegistry


class Trainer:
    """Runs each training in a child process, at most TRAINING_CONCURRENCY at a time (the queue's worker sees to
    that), and registers exactly one version per job however often the job is started."""

    def __init__(self, settings: ScoringSettings):
        self._settings = settings

    async def train(self, record: JobRecord) -> dict[str, Any]:
        """The job's work: train unless its version (named in its request) is registered already, activate if asked;
        its result names the version and its metrics."""
        wanted = TrainRequest.model_validate(record.request)
        version = training_version(record.id, wanted)
        manifest = self._registered(version)
        if manifest is None:
            manifest = await self._train(wanted.model_copy(update={"version": version}), record.by)
        if wanted.activate:
            await asyncio.to_thread(self._activate_once, version, record.by)
        return {"version": version, "metrics": manifest.metrics}

    async def _train(self, request: TrainRequest, by: str) -> ModelManifest:
        stop = threading.Event()  # set when the job is cancelled (the worker stops): the child is killed
        try:
            return await in_daemon_thread(_in_child_process, request, by, stop)
        except asyncio.CancelledError:
            stop.set()
            raise

    def _registered(self, version: str) -> ModelManifest | None:
        """The version's manifest if a run of this job registered it in full; a half-written folder is removed."""
        folder = self._settings.model_dir / version
        if (folder / "manifest.json").exists():
            return ModelRegistry(self._settings.model_dir).manifest(version)
        shutil.rmtree(folder, ignore_errors=True)
        return None

    def _activate_once(self, version: str, by: str) -> None:
        current = registry.active(registry.activations(self._settings.kafka_bootstrap_servers))
        if current is None or current.version != version:
            registry.activate(self._settings.kafka_bootstrap_servers, self._settings.model_dir, version, by)


def _in_child_process(request: TrainRequest, by: str, stop: threading.Event) -> ModelManifest:
    """Train in a child process that dies with this one (a killed worker leaves no training behind)."""
    outcome: dict[str, Any] = run_in_child(_train_child, (request.model_dump(), by), "training", stop)
    if "error" in outcome:
        raise RuntimeError(outcome["error"])
    return ModelManifest.model_validate(outcome["manifest"])


def _train_child(sending: Connection, request: dict[str, Any], by: str) -> None:
    die_with_parent()
    try:
        from services.analytics.training_runs import run_training  # the training stack, in the child only

        manifest, _ = run_training(TrainRequest.model_validate(request), ScoringSettings(), by)
        sending.send({"manifest": manifest.model_dump(mode="json")})
    except Exception as exc:  # noqa: BLE001 - reported to the job, which records why it failed
        sending.send({"error": f"{type(exc).__name__}: {exc}"})
