"""What the analysts' pages show, made for tests: real trained versions (with report and plots), score records carrying
drift bins of a version's training reference (steady, or a county whose incomes collapsed), and shadow scores of a
candidate moving households between levels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from kafka import KafkaProducer

from services.analytics.requests import TrainRequest
from services.analytics.training_runs import run_training
from services.common import topics
from services.common.kafka_auth import client_options
from services.common.months import month_shift
from services.common.scores import Figures, Level, Monitoring, Reason, Score, ShadowScore
from services.common.settings import ScoringSettings
from services.scoring.model import ModelManifest

CHINA = timezone(timedelta(hours=8))


def train_version(model_dir: Path, version: str, seed: int) -> ModelManifest:
    """Train and register a small real version (simulated county): manifest, report.md and its plots."""
    request = TrainRequest(households=300, seed=seed, max_iter=20, bootstrap=50, version=version, workers=1)
    manifest, _ = run_training(request, ScoringSettings(model_dir=model_dir), "ana.trainer")
    return manifest


def this_month(back: int = 0) -> str:
    """The month (China time) `back` months before this one, as GET …/monitoring counts it."""
    return month_shift(datetime.now(CHINA).strftime("%Y-%m"), -back)


def _quota(shares: list[float], n: int, rng: np.random.Generator) -> list[int]:
    """n bins in the reference's proportions (shuffled): a county like the training rows has a PSI near 0."""
    counts = np.floor(np.asarray(shares) * n).astype(int)
    for b in np.argsort(-(np.asarray(shares) * n - counts))[: n - counts.sum()]:
        counts[b] += 1
    bins = [b for b, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(bins)
    return bins


def monitored_scores(manifest: ModelManifest, county: str, month: str, n: int, drifted: bool = False) -> list[Score]:
    """One score per household of `county` in `month`, carrying drift bins: like the training rows, or (`drifted`)
    with every household's first feature (income against the line) in the lowest bin and the score in the highest.
    The steady ones are yellow model alerts at the middle of their score bin; the drifted ones red at 0.9."""
    ref, rng = manifest.reference, np.random.default_rng(int(county) + int(month.replace("-", "")))
    feature_bins = [_quota(ref["features"][name]["shares"], n, rng) for name in manifest.features]
    score_bins = _quota(ref["score"]["shares"], n, rng)
    edges = [0.0, *ref["score"]["edges"], 1.0]
    income = manifest.features.index("income_to_line") if "income_to_line" in manifest.features else 0
    day = datetime.fromisoformat(f"{month}-15T10:00:00+08:00")
    scores = []
    for i in range(n):
        bins = [column[i] for column in feature_bins]
        score_bin = score_bins[i]
        probability = (edges[score_bin] + edges[score_bin + 1]) / 2
        level: Level = "yellow"
        if drifted:
            bins[income], score_bin, probability, level = 0, len(edges) - 2, 0.9, "red"
        reason = Reason(code="model_risk", level=level, message_zh="模型预测返贫风险", message_en="model risk",
                        evidence={"probability": round(probability, 3)})  # fmt: skip
        scores.append(Score(
            score_id=uuid.uuid4().hex, household_id=f"HW{county}{i:04d}", region_code=f"{county}101{i % 3 + 1:03d}",
            level=level, reasons=[reason], probability=probability, policy_version="2025.2",
            model_version=manifest.version, scoring_mode="rules_and_model", caused_by=["/test#watch"],
            event_time=day, scored_at=datetime.now(UTC),
            figures=Figures(members=4, labourers=2, income_12m=36000, per_capita_income=9000, months_reported=12,
                            monitoring_line=8700),
            monitoring=Monitoring(month=month, bins=bins, score_bin=score_bin),
        ))  # fmt: skip
    return scores


def shadow_scores(candidate: str, active: str, county: str, moves: dict[tuple[Level, Level], int]) -> list[ShadowScore]:
    """Shadow scores of `candidate` next to `active` in `county`: `moves[(from, to)]` households of each change."""
    found, now = [], datetime.now(UTC)
    for (before, after), n in moves.items():
        for i in range(n):
            household = f"HS{county}{before[0]}{after[0]}{i:05d}"
            found.append(ShadowScore(
                household_id=household, region_code=f"{county}101001", score_id=uuid.uuid4().hex, scored_at=now,
                active_version=active, active_level=before, active_probability=0.1 if before == "green" else 0.5,
                candidate_version=candidate, candidate_level=after,
                candidate_probability=0.1 if after == "green" else 0.5 if after == "yellow" else 0.8,
            ))  # fmt: skip
    return found


def publish_shadow(bootstrap: str, scores: list[ShadowScore]) -> None:
    """Produce shadow scores to `scores.shadow` keyed by household, as scoring does."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **client_options(), acks="all", linger_ms=20)
    for score in scores:
        producer.send(topics.SHADOW_SCORES, score.model_dump_json().encode(), key=score.household_id.encode())
    producer.flush()
    producer.close()
