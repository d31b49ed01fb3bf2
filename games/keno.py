"""Keno: 10 of 40 squares are drawn; the player's 1 to 10 picks pay by hits.

Squares are numbered 1..40 (Stake's 0..39 plus one, as shown to players).
Draw i (0..9) consumes float i: among the squares not yet drawn, in ascending
order, take the one at index floor(float x (40 - i)). The multiplier comes from
Stake's public table for (risk, number of picks, number of hits).
"""

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import comb
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from games.base import Outcome
from games.common import (
    StrictParams,
    expected_multiplier,
    parse_multipliers,
    require_floats,
    scaled_floor,
)

SQUARES = 40
DRAWS = 10
MAX_PICKS = 10
Risk = Literal["classic", "low", "medium", "high"]
Square = Annotated[int, Field(ge=1, le=SQUARES)]

# Stake's multipliers for 0, 1, ..., picks hits; entry i is for i + 1 picks.
_BY_HITS: dict[Risk, tuple[str, ...]] = {
    "classic": (
        "0,3.96",
        "0,1.9,4.5",
        "0,1,3.1,10.4",
        "0,0.8,1.8,5,22.5",
        "0,0.25,1.4,4.1,16.5,36",
        "0,0,1,3.68,7,16.5,40",
        "0,0,0.47,3,4.5,14,31,60",
        "0,0,0,2.2,4,13,22,55,70",
        "0,0,0,1.55,3,8,15,44,60,85",
        "0,0,0,1.4,2.25,4.5,8,17,50,80,100",
    ),
    "low": (
        "0.7,1.85",
        "0,2,3.8",
        "0,1.1,1.38,26",
        "0,0,2.2,7.9,90",
        "0,0,1.5,4.2,13,300",
        "0,0,1.1,2,6.2,100,700",
        "0,0,1.1,1.6,3.5,15,225,700",
        "0,0,1.1,1.5,2,5.5,39,100,800",
        "0,0,1.1,1.3,1.7,2.5,7.5,50,250,1000",
        "0,0,1.1,1.2,1.3,1.8,3.5,13,50,250,1000",
    ),
    "medium": (
        "0.4,2.75",
        "0,1.8,5.1",
        "0,0,2.8,50",
        "0,0,1.7,10,100",
        "0,0,1.4,4,14,390",
        "0,0,0,3,9,180,710",
        "0,0,0,2,7,30,400,800",
        "0,0,0,2,4,11,67,400,900",
        "0,0,0,2,2.5,5,15,100,500,1000",
        "0,0,0,1.6,2,4,7,26,100,500,1000",
    ),
    "high": (
        "0,3.96",
        "0,0,17.1",
        "0,0,0,81.5",
        "0,0,0,10,259",
        "0,0,0,4.5,48,450",
        "0,0,0,0,11,350,710",
        "0,0,0,0,7,90,400,800",
        "0,0,0,0,5,20,270,600,900",
        "0,0,0,0,4,11,56,500,800,1000",
        "0,0,0,0,3.5,8,13,63,500,800,1000",
    ),
}


def _table(picks: int, by_hits: str) -> tuple[Decimal, ...]:
    """The multipliers for 0..picks hits from the published list."""
    table = parse_multipliers(by_hits)
    if len(table) != picks + 1:
        raise ValueError(f"{picks} picks need {picks + 1} multipliers")
    return table


PAYOUT_TABLES: dict[tuple[Risk, int], tuple[Decimal, ...]] = {
    (risk, picks): _table(picks, text)
    for risk, rows in _BY_HITS.items()
    for picks, text in enumerate(rows, start=1)
}
"""Multipliers indexed by hits, by (risk, number of picks)."""


class KenoParams(StrictParams):
    """A keno ticket: 1..10 distinct squares in 1..40 and a `risk` table."""

    picks: list[Square] = Field(min_length=1, max_length=MAX_PICKS)
    risk: Risk

    @field_validator("picks")
    @classmethod
    def _distinct(cls, picks: list[int]) -> list[int]:
        if len(set(picks)) != len(picks):
            raise ValueError("picks must be distinct")
        return picks

    @property
    def table(self) -> tuple[Decimal, ...]:
        """The multipliers for these params, indexed by hits."""
        return PAYOUT_TABLES[self.risk, len(self.picks)]


def _draw(floats: Sequence[float]) -> list[int]:
    """The drawn squares in draw order."""
    remaining = list(range(1, SQUARES + 1))
    return [remaining.pop(scaled_floor(value, len(remaining))) for value in floats]


class Keno:
    """Stake-style keno on 40 squares."""

    name: ClassVar[str] = "keno"
    params_model: ClassVar[type[BaseModel]] = KenoParams

    def floats_needed(self, params: KenoParams) -> int:
        """One float per drawn square."""
        return DRAWS

    def play(self, params: KenoParams, floats: Sequence[float]) -> Outcome:
        """Draw 10 squares; details hold them and the hits, both in draw order."""
        require_floats(floats, DRAWS)
        drawn = _draw(floats)
        picked = set(params.picks)
        hits = [square for square in drawn if square in picked]
        return Outcome(params.table[len(hits)], {"drawn": drawn, "hits": hits})

    def payout_table(self) -> dict[str, dict[str, list[str]]]:
        """Every table as published: risk -> number of picks -> multipliers by hits (0..picks)."""
        table: dict[str, dict[str, list[str]]] = {}
        for (risk, picks), by_hits in PAYOUT_TABLES.items():
            table.setdefault(risk, {})[str(picks)] = [str(value) for value in by_hits]
        return table

    def max_multiplier(self, params: KenoParams) -> Decimal:
        """The table's top multiplier."""
        return max(params.table)

    def rtp(self, params: KenoParams) -> Fraction:
        """Exact hypergeometric expectation of the multiplier."""
        picks = len(params.picks)
        weights = [
            comb(picks, hits) * comb(SQUARES - picks, DRAWS - hits) for hits in range(picks + 1)
        ]
        return expected_multiplier(weights, params.table)
