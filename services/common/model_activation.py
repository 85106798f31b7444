"""The model activation: the message on `models.activations` that says which risk model version scoring uses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class Activation(BaseModel):
    """One activation (or roll-back) of a model version on `models.activations`; no version means rules only.

    A `shadow` activation runs a candidate next to the active model, writing to `scores.shadow` only (no
    version: shadowing stops); it never changes which model alerts.
    """

    version: str | None
    sha256: str | None
    activated_by: str
    activated_at: datetime
    role: Literal["active", "shadow"] = "active"
