"""What a training is asked to train on (the CLI, the demo and `POST /models/train`), light to import."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from services.common import topics

if TYPE_CHECKING:
    from services.analytics.selection import Options

ModelKind = Literal["logistic", "boosting"]
MODEL_KINDS: tuple[ModelKind, ...] = ("logistic", "boosting")


class TrainRequest(BaseModel):
    """What to train on: a simulated county (default) or an exported / Kafka history with its truth."""

    households: int = Field(default=3000, ge=200, le=2_000_000)
    seed: int = 7
    events: str | None = None
    truth: str | None = None
    verdicts: str | None = None
    from_kafka: bool = False
    kafka_topic: str = Field(default=topics.CANONICAL, pattern=r"^[A-Za-z0-9._-]{1,249}$")
    version: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    activate: bool = False
    compare_active: bool = False
    max_iter: int = Field(default=200, ge=10, le=1000)
    workers: int = Field(default=1, ge=1, le=8)
    labels: list[str] = Field(default_factory=list)  # label files (docs/analysts.md: labels); with events or Kafka
    train_until: date | None = None  # only outcomes up to this date train (and the rows whose horizon ends by it)
    test_from: date | None = None  # then score the period from this date out of time, as the stream would
    horizon_months: int = Field(default=12, ge=1, le=60)  # the label: falling below within this many months
    max_rejects: int = Field(default=0, ge=0)
    policy_dir: str | None = None  # default: the service's POLICY_DIR
    kinds: list[ModelKind] = Field(default_factory=lambda: list(MODEL_KINDS))
    C: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0])
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    max_leaf_nodes: list[int] = Field(default_factory=lambda: [4, 8])
    min_samples_leaf: int = Field(default=0, ge=0)
    l2_regularization: float = Field(default=1.0, ge=0)
    bootstrap: int = Field(default=200, ge=0, le=2000)
    features: list[str] = Field(default_factory=list)  # the features candidates may use (default: all of them)

    @field_validator("features")
    @classmethod
    def _known_features(cls, names: list[str]) -> list[str]:
        from services.scoring.features import FEATURES  # numpy only

        unknown = [name for name in names if name not in FEATURES]
        if unknown:
            raise ValueError(f"{unknown} are not model features ({', '.join(FEATURES)})")
        return names

    def options(self) -> Options:
        """The candidates' settings."""
        from services.analytics.selection import Options  # scikit-learn: imported by the training process only

        return Options(tuple(self.kinds), tuple(self.C), self.max_iter, self.learning_rate,
                       tuple(self.max_leaf_nodes), self.min_samples_leaf, self.l2_regularization,
                       features=tuple(self.features))  # fmt: skip


def training_version(job_id: str, request: TrainRequest) -> str:
    """The version a training job registers: the one asked for, else one named after the job (so a rerun of the
    job after its worker died registers the same version, once)."""
    return request.version or f"trained-{job_id}"
