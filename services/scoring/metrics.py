"""Prometheus metrics of the scoring worker (served on SCORING_METRICS_PORT when set)."""

from prometheus_client import Counter, Histogram

EVENTS = Counter("shouwang_scoring_events_total", "Canonical events scored, by outcome", ["outcome"])
BATCH_SIZE = Histogram(
    "shouwang_scoring_batch_events", "Events per scoring batch", buckets=(1, 10, 100, 500, 1000, 2000, 5000)
)
ASSESSED = Counter("shouwang_scoring_assessed_households_total", "Household assessments (one per changed household)")
MODEL_SECONDS = Counter(
    "shouwang_scoring_model_seconds_total", "Seconds spent in the risk model (probabilities and drivers)", ["role"]
)
SCORES = Counter("shouwang_scoring_scores_total", "Scores emitted")
BATCH_SECONDS = Histogram(
    "shouwang_scoring_batch_seconds",
    "Seconds from a batch's arrival to its scores and states being durable",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
