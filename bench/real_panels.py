"""`python -m bench.real_panels`: every real development panel through the analyst's CLI only (dev-data, import-panel,
train --test-from), out of time next to the baselines, plus a plain logistic regression fitted here, outside the
project, on the panel's own columns (the covariates its mapping brings in). Prints the Markdown table of
docs/analysts.md."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas
import typer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from services.common.settings import REPO_ROOT

RANK = "rank by income after rigid spending"
MALAWI = REPO_ROOT.parent / "shared" / "data" / "malawi-ihps" / "Data.dta"


@dataclass(frozen=True)
class Panel:
    """One development panel: how it is made, mapped, split in time, and its columns for the outside baseline."""

    name: str
    words: str
    mapping: str
    household: str
    income: str  # the welfare column
    per_person: bool  # the welfare column is per person already
    members: str | None
    covariates: tuple[str, ...]
    test_from: str
    horizon: int = 12


PANELS = (
    Panel("rand-hie", "RAND HIE 1976-80, family-years, B40 line after out-of-pocket costs", "rand-hie.toml", "family",
          "income", False, "members", ("members", "labourers", "disabled", "chronic_ill", "medical_total",
                                       "out_of_pocket", "admissions"), "1978-01-01"),
    Panel("gsoep", "GSOEP 1984-88, bottom quintile", "gsoep-rwm5yr.toml", "id", "income", False, "members",
          ("members", "labourers", "hospital_nights"), "1986-01-01"),
    Panel("malawi", "Malawi IHPS 2010-16, food score ≤ 35", "malawi-ihps.toml", "HHID", "FCS", True, "hhsize",
          ("hhsize", "labourers", "drought", "droughtlag", "flood", "TLUlost"), "2014-01-01", 36),
    Panel("psid", "PSID 1976-82, bottom quintile", "psid-7682.toml", "id", "wage_income", False, None, (),
          "1980-01-01"),
    Panel("wage-panel", "NLSY 1980-87, bottom quintile", "nlsy-wage-panel.toml", "nr", "wage_income", False, None, (),
          "1985-01-01"),
)  # fmt: skip


def cli(*args: str, model_dir: Path) -> str:
    """Run the analyst CLI as an analyst would; its standard output."""
    env = {"MODEL_DIR": str(model_dir), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "services.analytics.cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"cli {' '.join(args[:2])}: {done.stderr.strip()[-800:]}")
    return done.stdout


def outside_logistic(panel: Panel, folder: Path) -> float:
    """A plain logistic regression (standardised columns, C=1) on the panel's own columns at each cut-off, fitted
    on the training rows and scored on the test rows of the CLI's own scores.csv (the same rows)."""
    frame = pandas.read_csv(folder / "panel.csv")
    frame["key"] = frame[panel.household].astype(str) + "|" + frame["year"].astype(int).astype(str)
    members = frame[panel.members] if panel.members else 1
    welfare = frame[panel.income] if panel.per_person else frame[panel.income] / members
    frame["log_welfare"] = np.log(welfare.clip(lower=1e-3))
    columns = ["log_welfare", *panel.covariates]
    labels = pandas.read_csv(folder / "labels.csv")
    labels["year"] = labels.as_of.str[:4].astype(int)
    labels["key"] = labels.household_id.astype(str) + "|" + labels.year.astype(str)
    step, first_test = panel.horizon // 12, int(panel.test_from[:4]) - 1
    below = dict(zip(labels.key, labels.outcome == "below_line", strict=True))
    later = {f"{h}|{y - step}": b for h, y, b in zip(labels.household_id.astype(str), labels.year,
                                                       labels.outcome == "below_line", strict=True)}  # fmt: skip
    rows = frame[[k in later and below.get(k) is False for k in frame.key]]
    train = rows[rows.year + step < first_test + 1]
    scores = pandas.read_csv(folder / "scores.csv")
    tested = scores[scores.scorer == RANK]
    keys = tested.household_id.astype(str) + "|" + tested.cut_off.str[:4]
    test = rows.set_index("key").reindex(keys)
    usable = [c for c in columns if np.ptp(train[c].to_numpy(float)) > 0]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    model.fit(train[usable].fillna(train[usable].median()), [later[k] for k in train.key])
    known = test[usable].notna().all(axis=1).to_numpy()
    probability = model.predict_proba(test[usable].fillna(train[usable].median()))[:, 1]
    return float(roc_auc_score(tested.label.to_numpy()[known], probability[known]))


def run_panel(panel: Panel, folder: Path, malawi: Path) -> dict[str, Any]:
    """dev-data → import-panel → train --test-from through the CLI; the figures of the test period."""
    models = folder / "models"
    extra = ["--source", str(malawi)] if panel.name == "malawi" else []
    cli("dev-data", panel.name, "--out", str(folder / "panel.csv"), *extra, model_dir=models)
    cli("import-panel", str(folder / "panel.csv"), "--mapping", str(REPO_ROOT / "deploy/mappings/panels" /
        panel.mapping), "--out", str(folder / "events.jsonl"), "--labels", str(folder / "labels.csv"),
        "--policy-out", str(folder / "policy"), "--max-rejects", "100", model_dir=models)  # fmt: skip
    cli("train", "--events", str(folder / "events.jsonl"), "--labels", str(folder / "labels.csv"), "--policy-dir",
        str(folder / "policy"), "--test-from", panel.test_from, "--horizon-months", str(panel.horizon),
        "--version", panel.name, model_dir=models)  # fmt: skip
    evaluation = models / panel.name / "evaluations" / f"from-{panel.test_from}"
    (folder / "scores.csv").write_bytes((evaluation / "scores.csv").read_bytes())
    summary = json.loads((evaluation / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((models / panel.name / "manifest.json").read_text(encoding="utf-8"))
    return {"summary": summary, "manifest": manifest, "outside": outside_logistic(panel, folder)}


def _auc(scorers: dict[str, dict[str, Any]], prefix: str) -> str:
    found = next(v for name, v in scorers.items() if name.startswith(prefix))
    bounds = found.get("roc_auc_interval")
    interval = f" ({bounds[0]:.3f}–{bounds[1]:.3f})" if bounds else ""
    return f"{found['roc_auc']:.3f}{interval}"


def table(results: dict[Panel, dict[str, Any]]) -> str:
    """The Markdown table of every panel's out-of-time figures."""
    lines = ["| panel (outcome) | test rows (positives) | served model | income rank | model − rank (95 %) | "
             "plain logistic, CLI | plain logistic, outside | rules only |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for panel, found in results.items():
        summary, manifest = found["summary"], found["manifest"]
        scorers = summary["scorers"]
        low, high = summary["roc_auc_model_minus"][RANK]
        lines.append(
            f"| {panel.words} | {summary['rows']:,} ({summary['positives']}) | "
            f"{_auc(scorers, 'model')} | {_auc(scorers, RANK)} | {low:+.3f} to {high:+.3f} | "
            f"{_auc(scorers, 'plain')} | {found['outside']:.3f} | {_auc(scorers, 'rules')} |"
        )
        lines.append(f"|  ↳ served: {manifest['model_kind']}; features: {', '.join(manifest['features'])} |"
                     + " |" * 7)  # fmt: skip
    return "\n".join(lines)


def main(
    only: Annotated[str, typer.Option(help="panels to run, comma-separated (default: all)")] = "",
    malawi: Annotated[Path, typer.Option(help="the Malawi extract (left out when missing)")] = MALAWI,
) -> None:
    """Run every panel and print the table."""
    chosen = [p for p in PANELS if not only or p.name in only.split(",")]
    if not malawi.exists():
        chosen = [p for p in chosen if p.name != "malawi"]
        print(f"(Malawi left out: {malawi} is missing)", file=sys.stderr)
    results = {}
    with tempfile.TemporaryDirectory(prefix="real-panels-") as root:
        for panel in chosen:
            folder = Path(root) / panel.name
            folder.mkdir()
            results[panel] = run_panel(panel, folder, malawi)
            print(f"{panel.name}: done", file=sys.stderr, flush=True)
    print(table(results))


if __name__ == "__main__":
    typer.run(main)
