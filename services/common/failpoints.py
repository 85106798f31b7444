"""Failpoints: named places where a crash test makes a process die as kill -9 would, to prove what survives."""

from __future__ import annotations

import os
import sys
from collections import Counter

from pydantic_settings import BaseSettings, SettingsConfigDict


class _FailpointSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # "name" or "name@N" (die at the N-th time the point is reached); empty in production
    shouwang_failpoint: str = ""


_chosen, _, _nth = _FailpointSettings().shouwang_failpoint.partition("@")
_hits: Counter[str] = Counter()


def reached(name: str) -> None:
    """Die on the spot when the test set SHOUWANG_FAILPOINT to this point (and it is the chosen hit)."""
    if name != _chosen:
        return
    _hits[name] += 1
    if _hits[name] >= int(_nth or 1):
        print(f"failpoint {name} reached: exiting as a crash would", file=sys.stderr, flush=True)
        os._exit(137)
