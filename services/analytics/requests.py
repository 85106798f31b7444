"""What a training is asked to train on (the CLI, the demo and `POST /models/train`), light to import."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.common import topics


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
