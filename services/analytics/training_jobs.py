"""Training as a job on the training queue: the API enqueues it (`TrainingJobs`), the jobs process runs it
(`Trainer`) in a child process, which alone loads the training stack (scikit-learn and the simulator)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import sys
import threading
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

from redis.asyncio import Redis
from saq.queue.redis import RedisQueue

from services.analytics import registry
from services.analytics.requests import TrainRequest
from services.common.settings import ScoringSettings
from services.jobs.queues import in_daemon_thread, long_job, with_heartbeat
from services.scoring.model import ModelManifest, ModelRegistry

TRAIN = "train_model"  # the job function's name on the training queue
_RECORD = "jobs:training:{}"  # the job as GET /models/train/{job} shows it (JSON)
_VERSIONS = "jobs:training:versions"  # version -> the job that registers it


def training_version(job_id: str, request: TrainRequest) -> str:
    """The version a training job registers: the one asked for, else one named after the job (so a rerun of the
    job after its worker died registers the same version, once)."""
    return request.version or f"trained-{job_id}"


class TrainingJobs:
    """The API's side: start a training as a job on the training queue, and read its record."""

    def __init__(self, redis: Redis, queue: RedisQueue, heartbeat: int):
        self._redis, self._queue, self._heartbeat = redis, queue, heartbeat

    async def start(self, request: TrainRequest, by: str) -> dict[str, Any] | None:
        """Queue a training and return its record; None when its version is taken by another job."""
        job_id = secrets.token_hex(8)
        version = training_version(job_id, request)
        if not await self._redis.hsetnx(_VERSIONS, version, job_id):  # type: ignore[misc]
            return None
        record = {"job": job_id, "status": "queued", "version": version, "by": by, "queued_at": _now()}
        await self._redis.set(_RECORD.format(job_id), json.dumps(record))
        await self._queue.enqueue(
            TRAIN, key=job_id, job_id=job_id, request=request.model_dump(), by=by, **long_job(self._heartbeat)
        )
        return record

    async def record(self, job_id: str) -> dict[str, Any] | None:
        """The job's status, and the version and metrics once done."""
        raw = await self._redis.get(_RECORD.format(job_id))
        return json.loads(raw) if raw else None


class Trainer:
    """The jobs process's side: runs each training in a child process, at most `concurrency` at a time (the queue's
    worker sees to that), and registers exactly one version per job however often the job is started."""

    def __init__(self, redis: Redis, settings: ScoringSettings, heartbeat: int):
        self._redis, self._settings, self._heartbeat = redis, settings, heartbeat

    async def train(self, ctx: dict[str, Any], *, job_id: str, request: dict[str, Any], by: str) -> dict[str, Any]:
        """The job: train unless this job's version is registered already, activate if asked, record the outcome."""
        wanted = TrainRequest.model_validate(request)
        version = training_version(job_id, wanted)
        await self._update(job_id, status="running", started_at=_now(), attempt=ctx["job"].attempts)
        try:
            manifest = self._registered(version)
            if manifest is None:
                manifest = await self._train(ctx, wanted.model_copy(update={"version": version}), by)
            if wanted.activate:
                await asyncio.to_thread(self._activate_once, version, by)
        except Exception as exc:
            await self._update(job_id, status="failed", error=str(exc)[:500], finished_at=_now())
            raise
        await self._update(job_id, status="done", version=version, metrics=manifest.metrics, finished_at=_now())
        return {"version": version}

    async def _train(self, ctx: dict[str, Any], request: TrainRequest, by: str) -> ModelManifest:
        stop = threading.Event()  # set when the job is cancelled (the worker stops): the child is killed
        try:
            work = in_daemon_thread(_in_child_process, request, by, stop)
            return await with_heartbeat(ctx["job"], work, max(1, self._heartbeat / 3))
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

    async def _update(self, job_id: str, **fields: Any) -> None:
        key = _RECORD.format(job_id)
        record = json.loads(await self._redis.get(key) or "{}")
        await self._redis.set(key, json.dumps(record | fields))


def _in_child_process(request: TrainRequest, by: str, stop: threading.Event) -> ModelManifest:
    """Train in a child process that dies with this one (a killed worker leaves no training behind)."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_train_child, args=(sending, request.model_dump(), by), daemon=True)
    child.start()
    try:
        while not receiving.poll(1.0):
            if stop.is_set():
                raise RuntimeError("the training was stopped")
            if not child.is_alive():
                raise RuntimeError(f"the training process ended without a result (exit code {child.exitcode})")
        outcome: dict[str, Any] = receiving.recv()
    finally:
        if child.is_alive():
            child.kill()
        child.join()
    if "error" in outcome:
        raise RuntimeError(outcome["error"])
    return ModelManifest.model_validate(outcome["manifest"])


def _train_child(sending: Connection, request: dict[str, Any], by: str) -> None:
    _die_with_parent()
    try:
        from services.analytics.jobs import run_training  # the training stack, in the child only

        manifest, _ = run_training(TrainRequest.model_validate(request), ScoringSettings(), by)
        sending.send({"manifest": manifest.model_dump(mode="json")})
    except Exception as exc:  # noqa: BLE001 - reported to the job, which records why it failed
        sending.send({"error": f"{type(exc).__name__}: {exc}"})


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent dies (and give up at once if it already has)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:
        os._exit(1)


def _now() -> str:
    return datetime.now(UTC).isoformat()
