"""Sums of money in yuan, as the v1 contract states them: a finite JSON number, ≥ 0, at most 2 decimals, bounded."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

MAX_YUAN = Decimal("1000000000000")  # 10^12 yuan: anything larger is a data error, not a household's money


def checked_amount(value: Any) -> Decimal:
    """The amount as sent, exactly, or ValueError saying which money rule it breaks."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number (yuan)")
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0:
        raise ValueError("must be ≥ 0")
    if amount > MAX_YUAN:
        raise ValueError(f"must be ≤ {MAX_YUAN} yuan")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("must have at most 2 decimals")
    return amount


def checked_yuan(value: Any) -> float:
    """The amount as a float, or ValueError saying which money rule it breaks."""
    return float(checked_amount(value))


# The constraints before the validator, so that the OpenAPI document carries them as `minimum` and `maximum`.
Yuan = Annotated[
    float,
    Field(ge=0, le=float(MAX_YUAN), examples=[1500], json_schema_extra={"multipleOf": 0.01}),  # checked exactly below
    BeforeValidator(checked_yuan),
]
