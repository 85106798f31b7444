"""A training run from a request: history (simulated, exported or from Kafka) to a registered, reported version."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from pathlib import Path

from services.analytics import registry
from services.analytics.history import group, read_events, read_kafka, write_rejects
from services.analytics.labels import Labels, read_outcomes, truth_outcomes, verdict_outcomes
from services.analytics.pipeline import TRAINING_MONTHS, Simulated, simulated_training_set
from services.analytics.report import write_report
from services.analytics.requests import TrainRequest
from services.analytics.simulator import SimConfig
from services.analytics.training import register, train
from services.analytics.training_set import TrainingSet, build, later_cutoffs, training_cutoffs
from services.common.events import HouseholdEvent
from services.common.months import months_between
from services.common.policy import PolicyBook
from services.common.settings import ScoringSettings
from services.scoring.model import ModelManifest, ModelRegistry, RiskModel

__all__ = ["TrainRequest", "active_model", "exported_training_set", "run_training"]


def request_labels(request: TrainRequest) -> Labels:
    """Every label file of the request (a former truth JSONL and verdict JSONL convert on the way in)."""
    outcomes = [item for path in request.labels for item in read_outcomes(Path(path))]
    if request.truth:
        outcomes += truth_outcomes(Path(request.truth))
    if request.verdicts:
        outcomes += verdict_outcomes(read_json_lines(Path(request.verdicts)))
    if not outcomes:
        raise ValueError("a history needs labels: --labels FILE (docs/analysts.md: labels)")
    return Labels(outcomes)


def read_json_lines(path: Path) -> list[dict[str, object]]:
    """A JSONL file's records."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def request_histories(request: TrainRequest, settings: ScoringSettings) -> dict[str, list[HouseholdEvent]]:
    """The request's events per household; invalid records up to --max-rejects are listed next to the file."""
    if request.from_kafka:
        return group(read_kafka(settings.kafka_bootstrap_servers, request.kafka_topic))
    path = Path(request.events or "")
    events, rejects = read_events(path, request.max_rejects)
    if rejects:
        write_rejects(path.with_name(path.name + ".rejects.csv"), rejects)
    return group(events)


def learning_until(request: TrainRequest) -> date | None:
    """The last outcome date training may learn from: --train-until, else the day before --test-from (so that no
    training label's horizon reaches the test period); refuses a --train-until inside the test period."""
    if request.train_until and request.test_from and request.train_until >= request.test_from:
        raise ValueError(
            f"--train-until {request.train_until} is not before --test-from {request.test_from}: the model would learn "
            "outcomes it is then tested on"
        )
    if request.train_until:
        return request.train_until
    return request.test_from - timedelta(days=1) if request.test_from else None


def exported_training_set(
    request: TrainRequest, settings: ScoringSettings, policies: PolicyBook
) -> tuple[TrainingSet, dict[str, list[HouseholdEvent]], Labels]:
    """The training set of an exported or Kafka history, labelled from the label files, up to `learning_until`."""
    labels, histories = request_labels(request), request_histories(request, settings)
    until = learning_until(request)
    known = labels.until(until) if until else labels
    cutoffs = training_cutoffs(known, until, request.horizon_months)
    policies.require_covered(cutoffs)
    ts = build(sorted(histories.items()), known, cutoffs, policies, request.horizon_months)
    if not ts.y.any() or ts.y.all():
        raise ValueError(one_outcome(known, until, request.horizon_months, len(ts)))
    return ts, histories, labels


def one_outcome(labels: Labels, until: date | None, horizon: int, rows: int) -> str:
    """Why the training rows hold one outcome (or none), in words that say what to change."""
    days = labels.cutoffs()
    spacing = min((months_between(a, b) for a, b in itertools.pairwise(days)), default=0)
    if spacing > horizon:
        return (f"the labels' cut-offs are {spacing} months apart or more, beyond the {horizon}-month horizon: no row "
                f"has a known outcome; train with --horizon-months {spacing}")  # fmt: skip
    if rows == 0:
        return f"no labelled cut-off has its {horizon}-month horizon known by {until} (--train-until, --test-from)"
    return "the training labels hold only one outcome: no household falls below the line, or all do"


def active_model(settings: ScoringSettings) -> RiskModel | None:
    """The active model, loaded and verified, if any."""
    current = registry.active(registry.activations(settings.kafka_bootstrap_servers))
    return ModelRegistry(settings.model_dir).load(current) if current else None


def run_training(
    request: TrainRequest, settings: ScoringSettings, by: str, progress: bool = False
) -> tuple[ModelManifest, Path]:
    """Build, train, evaluate, register (and activate when asked); returns the manifest and the report path."""
    notes: list[str] = []
    policy_dir = Path(request.policy_dir) if request.policy_dir else settings.policy_dir
    policies = PolicyBook.load(policy_dir)
    exported = None
    if request.events or request.from_kafka:
        exported = exported_training_set(request, settings, policies)
        ts = exported[0]
        source = request.kafka_topic if request.from_kafka else request.events
        notes.append(f"history: {source}; labels {', '.join(request.labels) or request.truth}; policy {policy_dir}")
    else:
        config = SimConfig(households=request.households, seed=request.seed, policy_dir=policy_dir,
                           months=TRAINING_MONTHS)  # fmt: skip
        simulated: Simulated = simulated_training_set(config, workers=request.workers, progress=progress)
        ts = simulated.training_set
        mix = ", ".join(f"{k} {v:.1%}" for k, v in simulated.cause_mix.items())
        notes.append(f"history: simulated, {request.households:,} households, seed {request.seed}, "
                     f"{simulated.events:,} events; causes of falling below the line: {mix}")  # fmt: skip
    active = active_model(settings) if request.compare_active else None
    until = learning_until(request)
    trained = train(ts, request.options(), active, request.horizon_months, request.bootstrap, until)
    manifest = register(trained, settings.model_dir, by, request.version)
    report = write_report(trained, settings.model_dir / manifest.version, f"Risk model {manifest.version}", notes)
    if request.test_from and exported:
        from services.analytics.out_of_time import evaluate_period, save_evaluation

        _, histories, labels = exported
        result = evaluate_period(settings.model_dir, manifest.version, histories, labels,
                                 later_cutoffs(labels, request.test_from), policies, request.bootstrap)  # fmt: skip
        save_evaluation(result, settings.model_dir / manifest.version / "evaluations" / f"from-{request.test_from}")
    if request.activate:
        registry.activate(settings.kafka_bootstrap_servers, settings.model_dir, manifest.version, by)
    return manifest, report
