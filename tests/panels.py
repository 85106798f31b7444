"""Real development panels for the analytics tests, made through the analyst's CLI."""

from __future__ import annotations

from pathlib import Path

from services.analytics.cli import main
from services.common.settings import REPO_ROOT

PANEL_MAPPINGS = REPO_ROOT / "deploy" / "mappings" / "panels"


def nlsy_panel(folder: Path) -> Path:
    """The NLSY wage panel imported into `folder`: wage_panel.csv, events.jsonl, labels.csv and its policy/."""
    main(["dev-data", "wage-panel", "--out", str(folder / "wage_panel.csv")])
    main(["import-panel", str(folder / "wage_panel.csv"), "--mapping", str(PANEL_MAPPINGS / "nlsy-wage-panel.toml"),
          "--out", str(folder / "events.jsonl"), "--labels", str(folder / "labels.csv"),
          "--policy-out", str(folder / "policy")])  # fmt: skip
    return folder
