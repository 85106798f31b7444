"""The bench's risk model: trained once per run by the analysts' CLI, then activated or switched off for a phase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.stack import LOGS, BenchStack
from services.analytics import registry

VERSION = "bench-model"
KINDS = "boosting"  # the costliest kind the CLI serves: the figures hold whichever kind an analyst's data chooses
TRAIN_HOUSEHOLDS = 2000  # simulated households the bench model is trained on (about a minute on this machine)


def ensure_trained(bench: BenchStack) -> dict[str, Any]:
    """The bench model's details, training it first if this run has not yet."""
    if VERSION not in _trained:
        _trained[VERSION] = train(bench)
    return _trained[VERSION]


_trained: dict[str, dict[str, Any]] = {}


def train(bench: BenchStack) -> dict[str, Any]:
    """Train and register the bench model with `cli train` (as an analyst would); its manifest details."""
    env = dict(bench.services.env)
    started = time.monotonic()
    with (LOGS / "train.log").open("ab") as log:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "services.analytics.cli",
                "train",
                "--households",
                str(TRAIN_HOUSEHOLDS),
                "--workers",
                "1",
                "--kinds",
                KINDS,
                "--version",
                VERSION,
            ],  # fmt: skip
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=1800,
        )
    manifest = json.loads((bench.model_dir() / VERSION / "manifest.json").read_text(encoding="utf-8"))
    return {"version": VERSION, "train_seconds": round(time.monotonic() - started, 1), "metrics": manifest["metrics"]}


def activate(bench: BenchStack) -> None:
    """Make the bench model the active one (workers started afterwards load it before their first event)."""
    registry.activate(bench.services.bootstrap, bench.model_dir(), VERSION, "bench")


def rules_only(bench: BenchStack) -> None:
    """Switch the model off: workers started afterwards score with the rules alone."""
    registry.publish(bench.services.bootstrap, None, "bench")
