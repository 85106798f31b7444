"""Backtest (replay a period with a policy folder and a model) and offline shadow comparison of two versions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from services.analytics.history import blocks, fast_event, simulate_block
from services.analytics.labels import as_of_date
from services.analytics.pipeline import simulated_training_set
from services.analytics.simulator import SimConfig
from services.analytics.training_set import month_end, replay
from services.common.levels import LEVEL_RANK, decide_level, model_level
from services.common.model_activation import Activation
from services.common.months import month_index, months_from
from services.common.policy import PolicyBook
from services.scoring.features import FEATURES
from services.scoring.model import ModelRegistry, RiskModel


def load_version(folder: Path, version: str) -> RiskModel:
    """Load a registered version, verified against its own manifest."""
    manifest = ModelRegistry(folder).manifest(version)
    activation = Activation(
        version=version, sha256=manifest.sha256, activated_by="analytics", activated_at=datetime.now(UTC)
    )
    model = ModelRegistry(folder).load(activation)
    if model is None:
        raise ValueError(f"model {version} could not be loaded")
    return model


LEVELS = {rank: level for level, rank in LEVEL_RANK.items()}


def backtest(folder: Path, version: str, policy_dir: Path, config: SimConfig, start: str, end: str) -> dict[str, Any]:
    """Month-end replay of `start`..`end`: alerts raised (rules + model), how early, and true cases missed."""
    model, policies, months = load_version(folder, version), PolicyBook.load(policy_dir), months_from(start, end)
    first_alert: dict[str, int] = {}
    falls: dict[str, int] = {}
    model_only = 0
    for block in blocks(config):
        cohort, histories = simulate_block(config, block)
        for i, (hid, events) in enumerate(histories):
            snaps = replay([fast_event(e) for e in events], [as_of_date(m) for m in months], policies)
            if not snaps:
                continue
            names = [m for m in months if as_of_date(m) in snaps]
            rows = np.asarray([[snaps[as_of_date(m)].features[f] for f in model.manifest.features] for m in names])
            probability = model.probabilities(rows)
            values = policies.for_region(cohort.region[i], int(end[:4])).values
            cut = model.yellow_cut(values)
            for m, p in zip(names, probability, strict=True):
                rules = LEVELS[snaps[as_of_date(m)].rules_level]
                if decide_level(rules, float(p), values, cut) != "green":
                    first_alert.setdefault(hid, months.index(m))
                    model_only += int(rules == "green")
                    break
            offset = month_index(start) - month_index(config.start)
            below = cohort.below[i, offset : offset + len(months)]
            fell = np.nonzero(below[1:] & ~below[:-1])[0]
            if len(fell):
                falls[hid] = int(fell[0]) + 1
    caught = {hid: f for hid, f in falls.items() if hid in first_alert and first_alert[hid] <= f}
    leads = [
        (month_end(months[f]).date() - month_end(months[first_alert[hid]]).date()).days for hid, f in caught.items()
    ]
    return {
        "model": version,
        "policy_dir": str(policy_dir),
        "period": f"{start}..{end}",
        "households": config.households,
        "households_alerted": len(first_alert),
        "alerted_first_by_model_alone": model_only,
        "true_cases": len(falls),
        "caught_before_or_when_falling": len(caught),
        "missed": len(falls) - len(caught),
        "median_lead_days": float(np.median(leads)) if leads else 0.0,
    }


def shadow(folder: Path, candidate: str, against: str | None, config: SimConfig) -> dict[str, Any]:
    """Score the same cut-offs with a candidate and the active (or named) version; agreement and differences."""
    if against is None:
        from services.analytics import registry
        from services.common.settings import ScoringSettings

        current = registry.active(registry.activations(ScoringSettings().kafka_bootstrap_servers))
        if current is None:
            raise ValueError("no model is active: name one with --against")
        against = str(current.version)
    ts = simulated_training_set(config).training_set
    new, old = load_version(folder, candidate), load_version(folder, against)
    p_new, p_old = (m.probabilities(ts.X[:, [FEATURES.index(f) for f in m.manifest.features]]) for m in (new, old))
    values = PolicyBook.load(config.policy_dir).for_region(config.counties[0], int(config.start[:4])).values
    cut = new.yellow_cut(values)
    a_new = np.array([model_level(float(p), values, cut) != "green" for p in p_new], dtype=bool)
    a_old = np.array([model_level(float(p), values, old.yellow_cut(values)) != "green" for p in p_old], dtype=bool)
    return {
        "candidate": candidate,
        "active": against,
        "rows": len(ts),
        "alert_cut": cut,
        "agreement": float((a_new == a_old).mean()),
        "alerts_candidate": int(a_new.sum()),
        "alerts_active": int(a_old.sum()),
        "candidate_only": int((a_new & ~a_old).sum()),
        "active_only": int((a_old & ~a_new).sum()),
        "candidate_only_true": int((a_new & ~a_old & ts.y).sum()),
        "active_only_true": int((a_old & ~a_new & ts.y).sum()),
        "mean_abs_probability_difference": float(np.abs(p_new - p_old).mean()),
        "rank_correlation": float(np.corrcoef(np.argsort(np.argsort(p_new)), np.argsort(np.argsort(p_old)))[0, 1]),
    }
