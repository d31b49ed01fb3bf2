"""What every game module provides, and the exact payout rule."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

JsonValue = Any


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one round of a game.

    `multiplier` is exact (a Decimal with the digits the game publishes, 0 for
    a loss); `details` is JSON-safe data a player needs to see and verify the
    round (a roll, a path, drawn numbers...).
    """

    multiplier: Decimal
    details: dict[str, JsonValue] = field(default_factory=dict)


class InstantGame(Protocol):
    """A game settled by a single outcome drawn from the bet's floats."""

    name: ClassVar[str]
    params_model: ClassVar[type[BaseModel]]

    def floats_needed(self, params: Any) -> int:
        """How many floats of the seed pair one round consumes."""

    def play(self, params: Any, floats: Sequence[float]) -> Outcome:
        """Outcome of one round from exactly `floats_needed(params)` floats."""

    def max_multiplier(self, params: Any) -> Decimal:
        """The largest multiplier these params can pay (for payout limits)."""

    def rtp(self, params: Any) -> Fraction:
        """Exact theoretical return to player for these params."""


def payout(amount: int, multiplier: Decimal) -> int:
    """floor(amount x multiplier) in minor units, computed exactly."""
    if multiplier <= 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 60  # far beyond 2**53 x any multiplier: the product is exact
        return int((Decimal(amount) * multiplier).to_integral_value(rounding=ROUND_FLOOR))
