"""Dice: a roll from 0.00 to 100.00, won over or under a target.

Rules (Stake's dice):

* roll = floor(float x 10001) / 100, so each of the 10001 rolls 0.00, 0.01,
  ..., 100.00 is equally likely;
* "over" wins when roll > target, "under" when roll < target;
* win chance in percent: target for "under", 100 - target for "over"; it must
  lie in [0.01, 98];
* multiplier = 99 / chance, rounded down to 4 decimals.

`target` is a percentage with at most two decimals, given as a JSON number
(50.5) or a decimal string ("50.50"); it is held as a Decimal quantized to 0.01.
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, model_validator

from games.base import Outcome
from games.common import (
    Hundredths,
    StrictParams,
    expected_multiplier,
    from_hundredths,
    require_floats,
    scaled_floor,
    to_hundredths,
)

ROLLS = 10001
MIN_CHANCE = Decimal("0.01")
MAX_CHANCE = Decimal("98")
# 99 / chance = 9900 / chance_x100; times 10**4 for the multiplier's 4 decimals.
_MULTIPLIER_NUMERATOR = 9900 * 10**4


class DiceParams(StrictParams):
    """A dice bet: win when the roll is `condition` ("over"/"under") `target`."""

    target: Hundredths
    condition: Literal["over", "under"]

    @model_validator(mode="after")
    def _chance_in_range(self) -> Self:
        if not MIN_CHANCE <= self.chance <= MAX_CHANCE:
            raise ValueError(f"win chance must lie in [{MIN_CHANCE}, {MAX_CHANCE}] percent")
        return self

    @property
    def chance(self) -> Decimal:
        """Win chance in percent, two decimals."""
        return self.target if self.condition == "under" else 100 - self.target

    @property
    def multiplier(self) -> Decimal:
        """99 / chance rounded down to 4 decimals."""
        return Decimal(_MULTIPLIER_NUMERATOR // to_hundredths(self.chance)).scaleb(-4)


class Dice:
    """Stake-style dice."""

    name: ClassVar[str] = "dice"
    params_model: ClassVar[type[BaseModel]] = DiceParams

    def floats_needed(self, params: DiceParams) -> int:
        """One float per roll."""
        return 1

    def play(self, params: DiceParams, floats: Sequence[float]) -> Outcome:
        """Roll once; details hold the roll as a string ("50.42")."""
        require_floats(floats, 1)
        roll = scaled_floor(floats[0], ROLLS)  # in hundredths, 0..10000
        target = to_hundredths(params.target)
        won = roll > target if params.condition == "over" else roll < target
        multiplier = params.multiplier if won else Decimal(0)
        return Outcome(multiplier, {"roll": str(from_hundredths(roll))})

    def max_multiplier(self, params: DiceParams) -> Decimal:
        """The win multiplier."""
        return params.multiplier

    def rtp(self, params: DiceParams) -> Fraction:
        """Exact: the chance in hundredths counts the winning rolls out of 10001."""
        wins = to_hundredths(params.chance)
        return expected_multiplier([wins, ROLLS - wins], [params.multiplier, Decimal(0)])
