"""The evaluation report: Markdown next to PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from services.analytics.evaluation import BUDGETS, Evaluation  # noqa: E402
from services.analytics.training import Trained  # noqa: E402

ROWS = (
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("brier", "Brier score"),
    *((f"recall_at_{round(b * 100)}pct", f"recall at {round(b * 100)}% budget") for b in BUDGETS),
    *((f"precision_at_{round(b * 100)}pct", f"precision at {round(b * 100)}% budget") for b in BUDGETS),
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
    ax.legend()
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
    ax.legend()
    fig.savefig(folder / "recall_at_budget.png", dpi=90, bbox_inches="tight")
    names.append("recall_at_budget.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for e in evaluations:
        ax.plot(list(e.county_recall), list(e.county_recall.values()), marker="o", label=e.name)
    ax.set(xlabel="county", ylabel="recall at 10% budget", title="Recall per county", ylim=(0, 1))
    ax.legend()
    fig.savefig(folder / "county_recall.png", dpi=90, bbox_inches="tight")
    names.append("county_recall.png")
    plt.close("all")
    return names


def write_report(trained: Trained, folder: Path, title: str, notes: list[str] | None = None) -> Path:
    """Write `report.md` and its plots into `folder`; returns the Markdown path."""
    folder.mkdir(parents=True, exist_ok=True)
    evaluations = trained.evaluations
    lines = [f"# {title}", "", *(notes or []), ""]
    val = trained.validation
    lines += [
        f"- data window: {trained.data_window()}",
        f"- training rows {len(trained.train):,} (positives {int(trained.train.y.sum()):,}); "
        f"validation rows {len(val):,} (positives {int(val.y.sum()):,}); fit {trained.seconds:.1f} s",
        "- label: above the monitoring line at the cut-off, below it (12-month income after medical costs) "
        "in one of the 12 months after it",
        "",
        "| metric | " + " | ".join(e.name for e in evaluations) + " |",
        "|---|" + "---|" * len(evaluations),
    ]
    for key, words in ROWS:
        cells = [f"{e.metrics[key]:.3f}" if key in e.metrics else "—" for e in evaluations]
        lines.append(f"| {words} | " + " | ".join(cells) + " |")
    rules = evaluations[1].metrics
    lines += [
        "",
        f"Rules only as issued (every red or yellow is an alert): {rules['alert_share_as_issued']:.1%} of households "
        f"alerted, recall {rules['recall_as_issued']:.3f}, precision {rules['precision_as_issued']:.3f}, "
        f"median lead {rules['median_lead_days_as_issued']:.0f} days. At a budget, rules rank red before yellow "
        "before green, ties in a fixed random order.",
        "",
        "| county | " + " | ".join(e.name for e in evaluations) + " |",
        "|---|" + "---|" * len(evaluations),
    ]
    for county in evaluations[0].county_recall:
        cells = [f"{e.county_recall.get(county, 0.0):.3f}" for e in evaluations]
        lines.append(f"| {county} | " + " | ".join(cells) + " |")
    lines += ["", *(f"![{name}]({name})" for name in _plots(evaluations, folder))]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
