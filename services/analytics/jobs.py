"""A training run from a request: history (simulated, exported or from Kafka) to a registered, reported version."""

from __future__ import annotations

from pathlib import Path

from services.analytics import registry
from services.analytics.history import group, read_jsonl, read_kafka, read_truth
from services.analytics.pipeline import Simulated, simulated_training_set
from services.analytics.report import write_report
from services.analytics.requests import TrainRequest
from services.analytics.simulator import SimConfig
from services.analytics.training import register, train
from services.analytics.training_set import TrainingSet, apply_verdicts, build, read_verdicts
from services.common.policy import PolicyBook
from services.common.settings import ScoringSettings
from services.scoring.model import ModelManifest, ModelRegistry, RiskModel
from services.scoring.state import month_shift

__all__ = ["TrainRequest", "active_model", "exported_training_set", "run_training"]


def exported_training_set(request: TrainRequest, settings: ScoringSettings) -> TrainingSet:
    """The training set of an exported or Kafka history, labelled from the truth file (and verdicts)."""
    if not request.truth:
        raise ValueError("a history needs --truth for labels (see the README: labels)")
    truth = read_truth(Path(request.truth))
    first = next(iter(truth.values()))
    months = len(first["below"])
    cutoffs = [month_shift(first["start"], m) for m in range(2, months - 12)]
    events = (
        read_kafka(settings.kafka_bootstrap_servers, request.kafka_topic)
        if request.from_kafka
        else read_jsonl(Path(request.events or ""))
    )
    histories = sorted(group(events).items())
    ts = build(histories, truth, cutoffs, PolicyBook.load(settings.policy_dir))
    if request.verdicts:
        apply_verdicts(ts, [hid for hid, _ in histories], read_verdicts(Path(request.verdicts)))
    return ts


def active_model(settings: ScoringSettings) -> RiskModel | None:
    """The active model, loaded and verified, if any."""
    current = registry.active(registry.activations(settings.kafka_bootstrap_servers))
    return ModelRegistry(settings.model_dir).load(current) if current else None


def run_training(
    request: TrainRequest, settings: ScoringSettings, by: str, progress: bool = False
) -> tuple[ModelManifest, Path]:
    """Build, train, evaluate, register (and activate when asked); returns the manifest and the report path."""
    notes: list[str] = []
    if request.events or request.from_kafka:
        ts = exported_training_set(request, settings)
        notes.append(f"history: {request.kafka_topic if request.from_kafka else request.events}; truth {request.truth}")
    else:
        config = SimConfig(households=request.households, seed=request.seed, policy_dir=settings.policy_dir)
        simulated: Simulated = simulated_training_set(config, workers=request.workers, progress=progress)
        ts = simulated.training_set
        mix = ", ".join(f"{k} {v:.1%}" for k, v in simulated.cause_mix.items())
        notes.append(f"history: simulated, {request.households:,} households, seed {request.seed}, "
                     f"{simulated.events:,} events; causes of falling below the line: {mix}")  # fmt: skip
    active = active_model(settings) if request.compare_active else None
    trained = train(ts, active=active, max_iter=request.max_iter)
    manifest = register(trained, settings.model_dir, by, request.version)
    report = write_report(trained, settings.model_dir / manifest.version, f"Risk model {manifest.version}", notes)
    if request.activate:
        registry.activate(settings.kafka_bootstrap_servers, settings.model_dir, manifest.version, by)
    return manifest, report
