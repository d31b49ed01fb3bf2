"""Helpers shared by the instant games: strict params, exact float scaling, payout tables."""

import re
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

CENT = Decimal("0.01")
_PLAIN_DECIMAL = re.compile(r"\d{1,12}(?:\.\d{1,2})?")


class StrictParams(BaseModel):
    """Base of every game's params: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _to_hundredths(value: object) -> Decimal:
    """Read a non-negative amount with at most two decimals, exactly.

    Accepts a decimal string ("50.5", "50.50"), a JSON number (50.5, 50) or a
    Decimal. A float is read through its shortest repr, so 50.5 is 50.50 but
    0.1 + 0.2 (0.30000000000000004) is rejected. Bools, signs and exponents are
    rejected.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise ValueError("must be a number or a decimal string")
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise ValueError("must be a non-negative decimal with at most two decimals")
    return Decimal(text).quantize(CENT)


Hundredths = Annotated[Decimal, BeforeValidator(_to_hundredths)]
"""A Decimal quantized to 0.01, parsed by `_to_hundredths`."""


def to_hundredths(value: Decimal) -> int:
    """An amount with at most two decimals as an integer count of 0.01."""
    return int(value.scaleb(2))


def from_hundredths(count: int) -> Decimal:
    """An integer count of 0.01 as a two-decimal Decimal (1234 -> 12.34)."""
    return Decimal(count).scaleb(-2)


def scaled_floor(value: float, n: int) -> int:
    """floor(value * n) computed exactly (any float is a ratio of integers)."""
    numerator, denominator = value.as_integer_ratio()
    return numerator * n // denominator


def require_floats(floats: Sequence[float], count: int) -> None:
    """Check that a round got exactly `count` generator floats in [0, 1)."""
    if len(floats) != count:
        raise ValueError(f"expected {count} floats, got {len(floats)}")
    if not all(0 <= value < 1 for value in floats):
        raise ValueError("floats must lie in [0, 1)")


def parse_multipliers(text: str) -> tuple[Decimal, ...]:
    """Published multipliers from a comma-separated list ("5.6,2.1,1")."""
    return tuple(Decimal(item) for item in text.split(","))


def expected_multiplier(weights: Sequence[int], multipliers: Sequence[Decimal]) -> Fraction:
    """Exact mean multiplier when outcome i, paying multipliers[i], has weight weights[i]."""
    total = sum(
        (Fraction(w) * Fraction(m) for w, m in zip(weights, multipliers, strict=True)),
        Fraction(0),
    )
    return total / sum(weights)
