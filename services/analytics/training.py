"""Training: candidates compared by honest validation inside the training period, the best refitted on every
training row and registered with its validation figures next to baselines, its budget cuts and its serving cost."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from threadpoolctl import threadpool_limits

from services.analytics import monitoring
from services.analytics.evaluation import (
    Evaluation,
    bootstrap,
    evaluate,
    evaluate_rules,
    income_rank,
)
from services.analytics.selection import (
    PLAIN_LOGISTIC,
    Candidate,
    Options,
    honest_splits,
    household_group,
    informative,
    on_columns,
    out_of_fold,
    simplest_within_noise,
)
from services.analytics.training_set import HORIZON, TrainingSet
from services.common.months import add_months
from services.scoring.compiled_trees import compiled
from services.scoring.features import FEATURES
from services.scoring.model import ModelManifest, ModelRegistry, RiskModel

REFERENCE_ROWS = 200_000  # training rows the drift reference is computed on (a stable sample above)
SELECTION_HOUSEHOLDS = 20_000  # above this, candidates are compared on a stable sample of households
BUDGET_GRID = tuple(round(0.01 * k, 2) for k in range(1, 51))  # alert budgets whose probability cut is recorded
REFERENCE_FILE = "reference-logistic.joblib"  # the plain logistic baseline, fitted on the same rows (not served)
INCOME_RANK = "rank by income after rigid spending"
PLAIN = "plain logistic regression"
SELECTION_RULE = ("validation ROC-AUC: the simplest candidate within one standard error (paired household bootstrap) "
                  "of the best")  # fmt: skip


@dataclass
class Trained:
    """A fitted model, the honest validation that chose it, and what the registry records about it."""

    estimator: Any
    chosen: Candidate
    reference: Any
    baseline: dict[str, float]
    train: TrainingSet
    validation: TrainingSet
    evaluations: list[Evaluation]
    differences: dict[str, tuple[float, float]]
    selection: dict[str, float]
    budget_cuts: dict[str, float]
    predict_us_per_row: float
    seconds: float
    scheme: str
    horizon: int = HORIZON
    labels_until: date | None = None
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    left_out: list[str] = field(default_factory=list)  # features constant or repeating another in the training rows
    notes: list[str] = field(default_factory=list)
    best_by_validation: str = ""  # the candidate with the highest validation ROC-AUC (chosen unless within noise)
    selection_errors: dict[str, float] = field(default_factory=dict)  # standard error of the best's lead over each
    drift_reference: dict[str, Any] = field(default_factory=dict)  # the training rows' bins: what drift is measured by

    @property
    def model(self) -> Evaluation:
        """The chosen model's validation."""
        return self.evaluations[0]

    def data_window(self) -> str:
        """Cut-offs used for the served model, and the validation scheme."""
        train = [self.train.cutoffs[c] for c in np.unique(self.train.cutoff)]
        until = f", labels until {self.labels_until}" if self.labels_until else ""
        return f"train cut-offs {train[0]}..{train[-1]}{until}; {self.scheme}"


def _selection_sample(ts: TrainingSet) -> TrainingSet:
    households = np.unique(ts.household)
    if len(households) <= SELECTION_HOUSEHOLDS:
        return ts
    share = math.ceil(len(households) / SELECTION_HOUSEHOLDS)
    keep = {h for h in households if household_group(str(h), share) == 0}
    return ts.subset(np.isin(ts.household, list(keep)))


def predict_cost(estimator: Any, X: np.ndarray, batch: int = 1000, repeats: int = 7) -> float:
    """Microseconds per row of the prediction scoring serves (compiled trees where scoring compiles the estimator,
    else predict_proba) on a `batch`-row batch, one thread (median of repeats)."""
    rows = X[np.arange(batch) % len(X)]
    served = compiled(estimator)
    timings = []
    with threadpool_limits(1):
        for _ in range(repeats):
            started = time.perf_counter()
            served.probabilities(rows) if served is not None else estimator.predict_proba(rows)
            timings.append(time.perf_counter() - started)
    return float(np.median(timings) / batch * 1e6)


def budget_cuts(estimator: Any, latest: np.ndarray) -> dict[str, float]:
    """Per alert budget, the probability above which that share of the rows `latest` (the last cut-off) lie."""
    probability = estimator.predict_proba(latest)[:, 1]
    return {f"{share:.2f}": float(np.quantile(probability, 1 - share)) for share in BUDGET_GRID}


def training_reference(estimator: Any, X: np.ndarray, names: list[str], limit: int = REFERENCE_ROWS) -> dict[str, Any]:
    """The bins of every served feature and of the score over the training rows (a stable sample above `limit`)."""
    rows = X if len(X) <= limit else X[np.random.default_rng(0).choice(len(X), limit, replace=False)]
    return monitoring.reference(rows, names, estimator.predict_proba(rows)[:, 1])


def train(
    ts: TrainingSet,
    options: Options | None = None,
    active: RiskModel | None = None,
    horizon: int = HORIZON,
    bootstrap_rounds: int = 200,
    labels_until: date | None = None,
) -> Trained:
    """Compare the candidates out of household and out of time, refit the best on every row, evaluate honestly."""
    options = options or Options()
    with threadpool_limits(1):  # small fits on a shared machine: OpenMP threads cost more than they save
        return _train(ts, options, active, horizon, bootstrap_rounds, labels_until)


def _train(
    ts: TrainingSet, options: Options, active: RiskModel | None, horizon: int, bootstrap_rounds: int,
    labels_until: date | None,
) -> Trained:  # fmt: skip
    if ts.y.sum() == 0 or ts.y.all():
        raise ValueError("the training labels hold only one outcome: no household falls below the line, or all do")
    labels_until = labels_until or add_months(ts.cutoffs[int(ts.cutoff.max())], horizon)  # the latest it could see
    started = time.perf_counter()
    sample = _selection_sample(ts)
    offered = [name for name in FEATURES if name in options.features] if options.features else list(FEATURES)
    names = informative(ts.X[:, [FEATURES.index(name) for name in offered]], offered)
    informative_columns = [FEATURES.index(name) for name in names]
    scheme = honest_splits(sample, horizon, options.groups)
    splits = scheme.splits
    compared = [(c, *out_of_fold(c, sample, splits, names)) for c in options.candidates(len(sample))]
    rows, strata = compared[0][1], compared[0][3]
    validation = sample.subset(rows)
    validation.stratum = strata
    choice = simplest_within_noise(validation, [(c, p) for c, _, p, _ in compared])
    chosen, chosen_p = choice.candidate, choice.probabilities
    _, plain_p, _ = out_of_fold(PLAIN_LOGISTIC, sample, splits, names)
    evaluations = [
        evaluate(f"model ({chosen.name})", validation, chosen_p),
        evaluate_rules(validation),
        evaluate(INCOME_RANK, validation, income_rank(validation), probabilistic=False),
        evaluate(PLAIN, validation, plain_p),
    ]
    if active is not None:
        columns = [FEATURES.index(name) for name in active.manifest.features]
        evaluations.append(evaluate(f"active model {active.manifest.version}", validation,
                                    active.probabilities(validation.X[:, columns])))  # fmt: skip
    differences = bootstrap(validation, evaluations, bootstrap_rounds if len(validation) <= 200_000 else 50)
    used = chosen.columns(names)
    X = ts.X[:, [FEATURES.index(name) for name in used]]
    estimator = chosen.fit(X, ts.y, ts.household, used)
    reference = on_columns(PLAIN_LOGISTIC.fit(ts.X[:, informative_columns], ts.y, ts.household, names),
                           informative_columns)  # fmt: skip
    baseline = {name: float(np.median(X[:, i])) for i, name in enumerate(used)}
    left_out = [name for name in FEATURES if name not in names]
    return Trained(
        estimator, chosen, reference, baseline, ts, validation, evaluations, differences, choice.aucs,
        budget_cuts(estimator, X[ts.cutoff == ts.cutoff.max()]),
        predict_cost(estimator, X), time.perf_counter() - started, scheme.words, horizon, labels_until, used, left_out,
        best_by_validation=choice.best, selection_errors=choice.standard_errors,
        drift_reference=training_reference(estimator, X, used),
    )  # fmt: skip


def manifest_metrics(trained: Trained) -> dict[str, float]:
    """The flat figures `GET /models` shows: the honest validation of the model and of each baseline."""
    model = trained.model
    keep = ("roc_auc", "pr_auc", "brier", "recall_at_10pct", "precision_at_10pct", "median_lead_days_at_10pct")
    metrics = {key: round(model.metrics[key], 4) for key in keep if key in model.metrics}
    if "roc_auc" in model.intervals:
        metrics["roc_auc_low"], metrics["roc_auc_high"] = (round(v, 4) for v in model.intervals["roc_auc"])
    prefixes = {"rules only": "rules", INCOME_RANK: "income_rank", PLAIN: "logistic"}
    for e in trained.evaluations[1:4]:
        prefix = prefixes[e.name]
        metrics |= {f"{prefix}_{key}": round(e.metrics[key], 4) for key in ("roc_auc", "recall_at_10pct")}
    metrics |= {"training_rows": float(len(trained.train)), "validation_rows": float(len(trained.validation)),
                "predict_us_per_row": round(trained.predict_us_per_row, 2)}  # fmt: skip
    return metrics


def validation_record(trained: Trained) -> dict[str, Any]:
    """The structured honest validation kept in the manifest: scheme, and every scorer with its intervals."""
    val = trained.validation
    return {
        "scheme": trained.data_window(),
        "rows": len(val),
        "positives": int(val.y.sum()),
        "households": len(np.unique(val.household)),
        "scorers": {
            e.name: {
                key: [round(value, 4), *(round(v, 4) for v in e.intervals.get(key, ()))]
                for key, value in e.metrics.items()
            }  # fmt: skip
            for e in trained.evaluations
        },
        "roc_auc_model_minus": {name: [round(a, 4), round(b, 4)] for name, (a, b) in trained.differences.items()},
    }


def register(trained: Trained, folder: Path, trained_by: str, version: str | None = None) -> ModelManifest:
    """Save the model as a new registry version with its honest figures, data window and policy version."""
    now = datetime.now(UTC)
    manifest = ModelRegistry(folder).save(
        trained.estimator,
        trained.baseline,
        trained.features,
        version=version or f"risk-{now:%Y%m%d-%H%M%S}",
        trained_at=now,
        trained_by=trained_by,
        policy_version=",".join(sorted(trained.train.policy_versions)) or None,
        data_window=trained.data_window(),
        metrics=manifest_metrics(trained),
        horizon_months=trained.horizon,
        labels_until=trained.labels_until,
        model_kind=trained.chosen.name,
        validation=validation_record(trained),
        selection={
            "criterion": SELECTION_RULE,
            "candidates": {k: round(v, 4) for k, v in trained.selection.items()},
            "best": trained.best_by_validation,
            "standard_error_of_lead": {k: round(v, 4) for k, v in trained.selection_errors.items()},
        },
        budget_cuts=trained.budget_cuts,
        reference=trained.drift_reference,
    )
    joblib.dump(trained.reference, folder / manifest.version / REFERENCE_FILE)
    return manifest
