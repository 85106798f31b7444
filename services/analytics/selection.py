"""Honest validation inside the training period, and the candidate models it chooses between.

A split never lets a household or a future label cross: the households are divided into disjoint groups first,
then, per validation block, the model is fitted on the other groups' cut-offs whose whole label horizon ends by
the block's first cut-off (a gap of one horizon) and checked on this group's cut-offs of the block.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from services.analytics.evaluation import household_resamples, validation_auc
from services.analytics.training_set import HORIZON, TrainingSet
from services.common.months import add_months
from services.scoring.features import FEATURES

DECREASING_RISK = ("income_to_line", "after_rigid_to_line")  # more income per person never raises the risk
INCOME_FEATURES = ("income_to_line", "after_rigid_to_line", "year_before_to_line")  # income per person, now and before
# Anchored logistic regressions scale the standardised income columns by this much, so that their L2 penalty is
# 1/ANCHOR_WEIGHT² of the others': strong regularisation then shrinks towards the income-only model, not towards none.
ANCHOR_WEIGHT = 10.0


class LeakingSplit(ValueError):
    """A split that would let the model see a validation household or a label from the validation period."""


@dataclass(frozen=True)
class Split:
    """Rows to fit on and rows to check on, proven disjoint in households and a horizon apart in time."""

    fit: np.ndarray
    check: np.ndarray

    @classmethod
    def checked(
        cls, ts: TrainingSet, fit: np.ndarray, check: np.ndarray, horizon: int = HORIZON, out_of_time: bool = True
    ) -> Split:
        """The split of row indices `fit` / `check`; raises LeakingSplit when it would leak."""
        shared = set(ts.household[fit].tolist()) & set(ts.household[check].tolist())
        if shared:
            raise LeakingSplit(f"{len(shared)} household(s) on both sides, e.g. {sorted(shared)[0]}")
        if out_of_time and len(fit) and len(check):
            last_fit, first_check = ts.cutoffs[int(ts.cutoff[fit].max())], ts.cutoffs[int(ts.cutoff[check].min())]
            if add_months(last_fit, horizon) > first_check:
                raise LeakingSplit(
                    f"the labels of the fit cut-off {last_fit} reach past the first checked cut-off {first_check}"
                )
        return cls(fit, check)


def household_group(household_id: str, groups: int) -> int:
    """A household's validation group: stable across runs and data sets."""
    return int(hashlib.sha256(household_id.encode()).hexdigest()[:8], 16) % groups


def validation_days(days: list[date], horizon: int = HORIZON, blocks: int = 2) -> list[list[date]]:
    """The last third of the cut-offs in up to `blocks` blocks, each with cut-offs a horizon earlier to fit on."""
    later = days[len(days) - max(1, math.ceil(len(days) / 3)) :]
    size = max(1, math.ceil(len(later) / blocks))
    chunks = [later[i : i + size] for i in range(0, len(later), size)]
    return [chunk for chunk in chunks if any(add_months(d, horizon) <= chunk[0] for d in days)]


@dataclass(frozen=True)
class Scheme:
    """The validation splits and, in words, how they hold data out."""

    splits: list[Split]
    words: str


def honest_splits(ts: TrainingSet, horizon: int = HORIZON, groups: int = 3) -> Scheme:
    """Out-of-household, out-of-time splits covering every household at the validation cut-offs; when the training
    period holds no cut-offs a horizon apart (e.g. one survey wave), out of household at the same cut-offs."""
    days = sorted({ts.cutoffs[c] for c in np.unique(ts.cutoff)})
    group = np.asarray([household_group(str(h), groups) for h in ts.household])
    row_day = np.asarray([ts.cutoffs[c] for c in ts.cutoff], dtype=object)
    blocks = validation_days(days, horizon)
    if not blocks:
        held_out = [(np.nonzero(group != k)[0], np.nonzero(group == k)[0]) for k in range(groups)]
        splits = [Split.checked(ts, fit, check, horizon, out_of_time=False) for fit, check in held_out]
        words = (f"validate on {groups} disjoint groups of households held out, each predicted by a fit on the "
                 f"others at the same cut-offs ({days[0]}..{days[-1]}): the training period holds no cut-offs "
                 f"{horizon} months apart, so this validation is out of household but not out of time")  # fmt: skip
        return Scheme(splits, words)
    splits = []
    for block in blocks:
        fit_days = {d for d in days if add_months(d, horizon) <= block[0]}
        in_fit = np.asarray([d in fit_days for d in row_day])
        in_block = np.asarray([d in block for d in row_day])
        for k in range(groups):
            fit, check = np.nonzero(in_fit & (group != k))[0], np.nonzero(in_block & (group == k))[0]
            if len(check) and len(fit):
                splits.append(Split.checked(ts, fit, check, horizon))
    checked = [d for block in blocks for d in block]
    words = (f"validate cut-offs {checked[0]}..{checked[-1]} on {groups} disjoint groups of households held out, "
             f"each predicted by a fit on the others' cut-offs at least {horizon} months earlier; rankings and "
             "budgets within each fit's predictions, averaged by rows")  # fmt: skip
    return Scheme(splits, words)


def signed_log(x: np.ndarray) -> np.ndarray:
    """Both the value and its signed log: income ratios matter most near the line."""
    return np.hstack([x, np.sign(x) * np.log1p(np.abs(x))])


def take_columns(x: np.ndarray, columns: list[int]) -> np.ndarray:
    """The columns a model was fitted on, out of every scoring feature (a pickled pipeline step)."""
    return x[:, columns]


def on_columns(model: Any, columns: list[int]) -> Any:
    """A fitted model that reads rows of every scoring feature and uses only `columns` of them."""
    return make_pipeline(FunctionTransformer(take_columns, kw_args={"columns": columns}), model)


def scale_columns(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each column times its weight (a fitted pipeline's step: pickled with the model, so it stays here)."""
    return x * weights


@dataclass(frozen=True)
class Candidate:
    """One model configuration: a name in words, and how to fit it on rows grouped by household."""

    name: str
    kind: str  # logistic | boosting
    params: dict[str, Any]

    def columns(self, names: list[str]) -> list[str]:
        """The features this candidate uses out of `names` (the informative ones)."""
        only = self.params.get("only")
        return [name for name in names if name in only] if only else list(names)

    def fit(self, X: np.ndarray, y: np.ndarray, households: np.ndarray, names: list[str]) -> Any:
        """One fitted model with predict_proba on X's columns `names` (boosting carries one sigmoid calibration)."""
        return _FITTERS[self.kind](self.params, X, y, households, names)


def informative(X: np.ndarray, names: list[str] | tuple[str, ...] = FEATURES) -> list[str]:
    """The features that vary in the training rows and do not merely repeat an earlier one.

    E.g. the year before on a first survey wave, or income after rigid spending without any medical bill: nothing can
    be learnt from those, and a model would extrapolate on them once they vary.
    """
    kept: list[int] = []
    for j in range(X.shape[1]):
        column = X[:, j]
        if np.ptp(column) <= 1e-12:
            continue
        if any(abs(np.corrcoef(X[:, i], column)[0, 1]) > 0.999 for i in kept):
            continue
        kept.append(j)
    return [names[j] for j in kept]


def _logistic(params: dict[str, Any], X: np.ndarray, y: np.ndarray, households: np.ndarray, names: list[str]) -> Any:
    logs = params.get("log_terms", True)
    steps: list[Any] = [FunctionTransformer(signed_log)] if logs else []
    steps.append(StandardScaler())
    if params.get("anchored"):
        weights = np.asarray([ANCHOR_WEIGHT if name in INCOME_FEATURES else 1.0 for name in names] * (2 if logs else 1))
        steps.append(FunctionTransformer(scale_columns, kw_args={"weights": weights}))
    model = make_pipeline(*steps, LogisticRegression(C=params["C"], max_iter=2000))
    return model.fit(X, y)


def _boosting(params: dict[str, Any], X: np.ndarray, y: np.ndarray, households: np.ndarray, names: list[str]) -> Any:
    monotonic = [-1 if name in DECREASING_RISK else 0 for name in names]
    boosting = HistGradientBoostingClassifier(
        max_iter=params["max_iter"],
        learning_rate=params["learning_rate"],
        max_leaf_nodes=params["max_leaf_nodes"],
        min_samples_leaf=params["min_samples_leaf"],
        l2_regularization=params["l2_regularization"],
        monotonic_cst=monotonic,
        random_state=0,
    )
    group = np.asarray([household_group(str(h), 3) for h in households])
    folds = [(np.nonzero(group != k)[0], np.nonzero(group == k)[0]) for k in range(3)]
    folds = [(a, b) for a, b in folds if len(b) and y[a].any() and not y[a].all()]
    if len(folds) < 2:
        return boosting.fit(X, y)
    # One boosting model fitted on every row, one sigmoid calibration fitted on its out-of-household predictions.
    return CalibratedClassifierCV(boosting, method="sigmoid", cv=folds, ensemble=False).fit(X, y)


_FITTERS: dict[str, Callable[[dict[str, Any], np.ndarray, np.ndarray, np.ndarray, list[str]], Any]] = {
    "logistic": _logistic,
    "boosting": _boosting,
}


@dataclass(frozen=True)
class Options:
    """What the analyst may set: which kinds compete, and each kind's regularisation grid."""

    kinds: tuple[str, ...] = ("logistic", "boosting")
    C: tuple[float, ...] = (0.01, 0.1, 1.0)  # logistic: inverse L2 strength
    max_iter: int = 200  # boosting: trees
    learning_rate: float = 0.05
    max_leaf_nodes: tuple[int, ...] = (4, 8)
    min_samples_leaf: int = 0  # 0: 2 % of the rows, at least 20
    l2_regularization: float = 1.0
    groups: int = 3  # household groups of the validation
    features: tuple[str, ...] = ()  # the features candidates may use (default: every scoring feature)

    def candidates(self, rows: int) -> list[Candidate]:
        """Every configuration to compare, the simplest first (income only, then less regularised, then trees)."""
        found: list[Candidate] = []
        if "logistic" in self.kinds:
            found.append(INCOME_ONLY)
            found += [Candidate(f"logistic regression, income unpenalised, C={c:g}", "logistic",
                                {"C": c, "anchored": True}) for c in sorted(self.C)]  # fmt: skip
        if "boosting" in self.kinds:
            leaf = self.min_samples_leaf or max(20, rows // 50)
            for leaves in sorted(self.max_leaf_nodes):
                params = {"max_iter": self.max_iter, "learning_rate": self.learning_rate, "max_leaf_nodes": leaves,
                          "min_samples_leaf": leaf, "l2_regularization": self.l2_regularization}  # fmt: skip
                name = f"gradient boosting, {leaves} leaves, ≥{leaf} rows a leaf, {self.max_iter} trees"
                found.append(Candidate(name, "boosting", params))
        if not found:
            raise ValueError(f"no model kind to train: choose from {', '.join(_FITTERS)}")
        return found


PLAIN_LOGISTIC = Candidate("plain logistic regression, C=1", "logistic", {"C": 1.0, "log_terms": False})
INCOME_ONLY = Candidate(
    "logistic regression on income per person only, C=1",
    "logistic",
    {"C": 1.0, "only": INCOME_FEATURES},
)


def out_of_fold(
    candidate: Candidate, ts: TrainingSet, splits: list[Split], names: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation rows, the candidate's probabilities for them (each from a fit that never saw them), their split."""
    used = candidate.columns(names or list(FEATURES))
    columns = np.asarray([FEATURES.index(name) for name in used], dtype=int)
    rows, scores, strata = [], [], []
    for number, split in enumerate(splits):
        fit_y = ts.y[split.fit]
        if not fit_y.any() or fit_y.all():
            continue
        model = candidate.fit(ts.X[np.ix_(split.fit, columns)], fit_y, ts.household[split.fit], used)
        rows.append(split.check)
        scores.append(model.predict_proba(ts.X[np.ix_(split.check, columns)])[:, 1])
        strata.append(np.full(len(split.check), number))
    if not rows:
        raise ValueError("no validation fit had both outcomes: too few households fall below the line")
    return np.concatenate(rows), np.concatenate(scores), np.concatenate(strata)


@dataclass(frozen=True)
class Choice:
    """The chosen candidate, its validation probabilities, and the noise its lead over the simpler ones had to beat."""

    candidate: Candidate
    probabilities: np.ndarray
    best: str
    aucs: dict[str, float]  # every candidate's validation ROC-AUC
    standard_errors: dict[str, float]


def simplest_within_noise(
    validation: TrainingSet, scored: list[tuple[Candidate, np.ndarray]], rounds: int = 200, seed: int = 0
) -> Choice:
    """The simplest candidate whose validation ROC-AUC is within one standard error of the best one's.

    The error is that of the paired difference to the best, households resampled: a lead smaller than the
    validation's own noise does not buy a more complex model (candidates come simplest first).
    """
    aucs = [validation_auc(validation, p) for _, p in scored]
    best = int(np.nanargmax(aucs))
    gaps: list[list[float]] = [[] for _ in scored]
    for weight in household_resamples(validation, rounds, seed):
        lead = validation_auc(validation, scored[best][1], weight)
        for i, (_, p) in enumerate(scored):
            gaps[i].append(lead - validation_auc(validation, p, weight))
    errors = {c.name: float(np.nanstd(gap)) for (c, _), gap in zip(scored, gaps, strict=True)}
    for (candidate, p), auc in zip(scored, aucs, strict=True):
        if auc >= aucs[best] - errors[candidate.name]:
            return Choice(candidate, p, scored[best][0].name, dict(zip(errors, aucs, strict=True)), errors)
    raise AssertionError("the best candidate is within its own noise")  # unreachable: the best's error is 0
