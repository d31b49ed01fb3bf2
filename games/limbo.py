"""Limbo: one crash point per round; the bet wins when it reaches the target.

Stake publishes the result as

    floatPoint = 1e8 / (float * 1e8) * 0.99
    result     = max(floor(floatPoint * 100) / 100, 1.00)

which is 0.99 / float rounded down to cents. Here it is evaluated exactly:
with float = p / q (any float is such a ratio; generator floats are
k / 2**32), result x 100 = floor(99 * q / p). The result is clamped to
[1.00, max_target]; float 0 (1e8 / 0 is infinite) gives max_target.

A bet names `target` (two decimals, 1.01 <= target <= max_target, given as a
JSON number or a decimal string) and wins `target` x stake when
result >= target.
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from pydantic import BaseModel, field_validator

from games.base import Outcome
from games.common import (
    CENT,
    Hundredths,
    StrictParams,
    expected_multiplier,
    from_hundredths,
    require_floats,
    to_hundredths,
)

MIN_TARGET = Decimal("1.01")
DEFAULT_MAX_TARGET = Decimal("1000000")
FLOAT_OUTCOMES = 2**32  # the generator's floats are k / 2**32, k in 0..2**32 - 1
_RETURN_X100 = 99  # 0.99 / float, in hundredths


class LimboParams(StrictParams):
    """A limbo bet on `target`; `max_target` is the game's configured cap."""

    max_target: ClassVar[Decimal] = DEFAULT_MAX_TARGET
    target: Hundredths

    @field_validator("target")
    @classmethod
    def _target_in_range(cls, target: Decimal) -> Decimal:
        if not MIN_TARGET <= target <= cls.max_target:
            raise ValueError(f"target must lie in [{MIN_TARGET}, {cls.max_target}]")
        return target


def _result_x100(value: float, cap_x100: int) -> int:
    """The crash point in hundredths for one float, clamped to [100, cap_x100]."""
    numerator, denominator = value.as_integer_ratio()
    if numerator == 0:
        return cap_x100
    return min(max(_RETURN_X100 * denominator // numerator, 100), cap_x100)


class Limbo:
    """Stake-style limbo with targets up to `params_model.max_target`."""

    name: ClassVar[str] = "limbo"
    params_model: ClassVar[type[BaseModel]] = LimboParams

    @staticmethod
    def capped(max_target: Decimal) -> "Limbo":
        """A limbo game whose params reject targets above `max_target`.

        The cap lives on the params model (the protocol's `params_model` is a
        class attribute), so each cap gets its own small subclass pair.
        """
        if max_target < MIN_TARGET or max_target != max_target.quantize(CENT):
            raise ValueError(f"max_target must be >= {MIN_TARGET} with at most two decimals")
        bound = max_target

        class CappedLimboParams(LimboParams):
            max_target: ClassVar[Decimal] = bound

        class CappedLimbo(Limbo):
            params_model = CappedLimboParams

        return CappedLimbo()

    def floats_needed(self, params: LimboParams) -> int:
        """One float per round."""
        return 1

    def play(self, params: LimboParams, floats: Sequence[float]) -> Outcome:
        """Draw the crash point; details hold it as a string ("2.47")."""
        require_floats(floats, 1)
        result = _result_x100(floats[0], to_hundredths(params.max_target))
        won = result >= to_hundredths(params.target)
        multiplier = params.target if won else Decimal(0)
        return Outcome(multiplier, {"result": str(from_hundredths(result))})

    def max_multiplier(self, params: LimboParams) -> Decimal:
        """The target."""
        return params.target

    def rtp(self, params: LimboParams) -> Fraction:
        """Exact over the 2**32 generator floats.

        With T = target x 100 >= 101, k / 2**32 wins iff k = 0 or
        floor(99 * 2**32 / k) >= T, i.e. k <= floor(99 * 2**32 / T) (< 2**32):
        floor(99 * 2**32 / T) + 1 winning floats.
        """
        wins = _RETURN_X100 * FLOAT_OUTCOMES // to_hundredths(params.target) + 1
        return expected_multiplier([wins, FLOAT_OUTCOMES - wins], [params.target, Decimal(0)])
