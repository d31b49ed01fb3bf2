"""Plinko: a ball falls through 8 to 16 rows of pins into one of rows + 1 slots.

Each row consumes one float: floor(float x 2) == 1 sends the ball right, 0
left. The slot is the number of rights (0..rows), so slot k has probability
C(rows, k) / 2**rows, and pays the multiplier of Stake's public table for
(rows, risk).
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import comb
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from games.base import Outcome
from games.common import (
    StrictParams,
    expected_multiplier,
    parse_multipliers,
    require_floats,
    scaled_floor,
)

MIN_ROWS = 8
MAX_ROWS = 16
Risk = Literal["low", "medium", "high"]

# Stake's multipliers from the edge slot to the centre slot; the other half mirrors them.
_EDGE_TO_CENTRE: dict[Risk, dict[int, str]] = {
    "low": {
        8: "5.6,2.1,1.1,1,0.5",
        9: "5.6,2,1.6,1,0.7",
        10: "8.9,3,1.4,1.1,1,0.5",
        11: "8.4,3,1.9,1.3,1,0.7",
        12: "10,3,1.6,1.4,1.1,1,0.5",
        13: "8.1,4,3,1.9,1.2,0.9,0.7",
        14: "7.1,4,1.9,1.4,1.3,1.1,1,0.5",
        15: "15,8,3,2,1.5,1.1,1,0.7",
        16: "16,9,2,1.4,1.4,1.2,1.1,1,0.5",
    },
    "medium": {
        8: "13,3,1.3,0.7,0.4",
        9: "18,4,1.7,0.9,0.5",
        10: "22,5,2,1.4,0.6,0.4",
        11: "24,6,3,1.8,0.7,0.5",
        12: "33,11,4,2,1.1,0.6,0.3",
        13: "43,13,6,3,1.3,0.7,0.4",
        14: "58,15,7,4,1.9,1,0.5,0.2",
        15: "88,18,11,5,3,1.3,0.5,0.3",
        16: "110,41,10,5,3,1.5,1,0.5,0.3",
    },
    "high": {
        8: "29,4,1.5,0.3,0.2",
        9: "43,7,2,0.6,0.2",
        10: "76,10,3,0.9,0.3,0.2",
        11: "120,14,5.2,1.4,0.4,0.2",
        12: "170,24,8.1,2,0.7,0.2,0.2",
        13: "260,37,11,4,1,0.2,0.2",
        14: "420,56,18,5,1.9,0.3,0.2,0.2",
        15: "620,83,27,8,3,0.5,0.2,0.2",
        16: "1000,130,26,9,4,2,0.2,0.2,0.2",
    },
}


def _mirrored(rows: int, edge_to_centre: str) -> tuple[Decimal, ...]:
    """All rows + 1 slot multipliers from the published half-table."""
    half = parse_multipliers(edge_to_centre)
    if len(half) != rows // 2 + 1:
        raise ValueError(f"{rows} rows need {rows // 2 + 1} edge-to-centre multipliers")
    return tuple(half[min(slot, rows - slot)] for slot in range(rows + 1))


PAYOUT_TABLES: dict[tuple[int, Risk], tuple[Decimal, ...]] = {
    (rows, risk): _mirrored(rows, text)
    for risk, by_rows in _EDGE_TO_CENTRE.items()
    for rows, text in by_rows.items()
}
"""Slot multipliers, slot 0 (all left) to slot rows (all right), by (rows, risk)."""


class PlinkoParams(StrictParams):
    """A plinko drop: `rows` in 8..16 and a `risk` table."""

    rows: int = Field(ge=MIN_ROWS, le=MAX_ROWS)
    risk: Risk

    @property
    def table(self) -> tuple[Decimal, ...]:
        """The slot multipliers for these params."""
        return PAYOUT_TABLES[self.rows, self.risk]


class Plinko:
    """Stake-style plinko."""

    name: ClassVar[str] = "plinko"
    params_model: ClassVar[type[BaseModel]] = PlinkoParams

    def floats_needed(self, params: PlinkoParams) -> int:
        """One float per row."""
        return params.rows

    def play(self, params: PlinkoParams, floats: Sequence[float]) -> Outcome:
        """Drop the ball; details hold the path (0 left, 1 right) and the slot."""
        require_floats(floats, params.rows)
        path = [scaled_floor(value, 2) for value in floats]
        slot = sum(path)
        return Outcome(params.table[slot], {"path": path, "slot": slot})

    def payout_table(self) -> dict[str, dict[str, list[str]]]:
        """Every table as published: risk -> rows -> multipliers from slot 0 to slot rows."""
        table: dict[str, dict[str, list[str]]] = {}
        for (rows, risk), slots in PAYOUT_TABLES.items():
            table.setdefault(risk, {})[str(rows)] = [str(value) for value in slots]
        return table

    def max_multiplier(self, params: PlinkoParams) -> Decimal:
        """The edge slots' multiplier."""
        return max(params.table)

    def rtp(self, params: PlinkoParams) -> Fraction:
        """Exact binomial expectation of the slot multiplier."""
        weights = [comb(params.rows, slot) for slot in range(params.rows + 1)]
        return expected_multiplier(weights, params.table)
