"""Mines: a 5x5 board hides 1..24 mines; reveal safe tiles, cash out before a mine.

Tiles are numbered 0..24 left to right, top to bottom. The mines are placed as
Stake publishes: float i of the bet (i = 0 .. mines-1) picks index
floor(float_i x (25 - i)) of the tiles not yet picked, kept in ascending order.
(Stake shuffles all 25 tiles with 24 floats and takes the first `mines`; the
first `mines` picks only depend on the first `mines` floats.)

After k safe reveals with m mines the exact multiplier is
0.99 x C(25, k) / C(25 - m, k) - the fair odds of surviving k reveals less a
1% edge. What pays is that Fraction floored to 4 decimals (`payout_multiplier`),
so the house edge of every strategy is at least 1%.
"""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from math import comb
from typing import Self

from pydantic import Field

from games.base import JsonValue
from games.states import (
    PAYOUT_PLACES,
    GameRecord,
    GameState,
    InvalidActionError,
    SteppedGame,
    floor_decimal,
)

TILES = 25
RTP = Fraction(99, 100)


class Reveal(StrEnum):
    """What a revealed tile hides."""

    SAFE = "safe"
    MINE = "mine"


def _check_mine_count(mine_count: int) -> None:
    if not 1 <= mine_count <= TILES - 1:
        raise ValueError(f"mine count must be 1..{TILES - 1}, got {mine_count}")


def mine_positions(floats: Sequence[float], mine_count: int) -> list[int]:
    """Mine tiles, in draw order, from the first `mine_count` floats of a bet."""
    _check_mine_count(mine_count)
    if len(floats) < mine_count:
        raise ValueError(f"{mine_count} mines need {mine_count} floats, got {len(floats)}")
    remaining = list(range(TILES))
    return [remaining.pop(int(value * (TILES - i))) for i, value in enumerate(floats[:mine_count])]


def multiplier(mine_count: int, safe_reveals: int) -> Fraction:
    """Exact multiplier after `safe_reveals` safe tiles with `mine_count` mines."""
    _check_mine_count(mine_count)
    if not 0 <= safe_reveals <= TILES - mine_count:
        raise ValueError(f"{safe_reveals} safe reveals impossible with {mine_count} mines")
    return RTP * Fraction(comb(TILES, safe_reveals), comb(TILES - mine_count, safe_reveals))


def payout_multiplier(mine_count: int, safe_reveals: int) -> Decimal:
    """What a cashout after `safe_reveals` safe tiles pays: `multiplier` floored to 4 decimals."""
    return floor_decimal(multiplier(mine_count, safe_reveals), PAYOUT_PLACES)


class MinesRecord(GameRecord):
    """Stored form of a Mines game: the seeds, the mine count and the tiles clicked."""

    mine_count: int = Field(ge=1, le=TILES - 1)
    reveals: list[int]


class MinesGame(SteppedGame):
    """One game of Mines; the mines are fixed by the bet's seeds at the start."""

    def __init__(self, server_seed: str, client_seed: str, nonce: int, mine_count: int) -> None:
        _check_mine_count(mine_count)
        super().__init__(server_seed, client_seed, nonce)
        floats = [self._next_float() for _ in range(mine_count)]
        self.mine_count = mine_count
        self.mines: frozenset[int] = frozenset(mine_positions(floats, mine_count))
        self.revealed: list[int] = []  # safe tiles, in click order
        self.hit_mine: int | None = None

    @property
    def multiplier(self) -> Fraction:
        """Exact multiplier of the safe tiles revealed so far."""
        return multiplier(self.mine_count, len(self.revealed))

    @property
    def can_cashout(self) -> bool:
        """A cashout needs at least one safe reveal."""
        return bool(self.revealed)

    def reveal(self, tile: int) -> Reveal:
        """Reveal `tile`; a mine loses, the last safe tile cashes out automatically."""
        self._require_active()
        if not 0 <= tile < TILES:
            raise InvalidActionError(f"tile must be 0..{TILES - 1}, got {tile}")
        if tile in self.revealed:
            raise InvalidActionError(f"tile {tile} is already revealed")
        if tile in self.mines:
            self.hit_mine = tile
            self._finish(GameState.LOST)
            return Reveal.MINE
        self.revealed.append(tile)
        if len(self.revealed) == TILES - self.mine_count:
            self._finish(GameState.CASHED)
        return Reveal.SAFE

    def view(self) -> dict[str, JsonValue]:
        """What the player may see: the mines only once the game is over."""
        over = self.state is not GameState.ACTIVE
        return {
            "state": self.state.value,
            "mine_count": self.mine_count,
            "revealed": list(self.revealed),
            "hit_mine": self.hit_mine,
            "multiplier": str(self.payout_multiplier),
            "mines": sorted(self.mines) if over else None,
        }

    def to_dict(self) -> dict[str, JsonValue]:
        """JSON-safe server-side record (contains the server seed: never send it to a client)."""
        clicks = [*self.revealed, *([] if self.hit_mine is None else [self.hit_mine])]
        record = MinesRecord(**self._record_fields(), mine_count=self.mine_count, reveals=clicks)
        return record.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, JsonValue]) -> Self:
        """Rebuild a game from `to_dict` output by replaying its clicks."""
        record = MinesRecord.model_validate(data)
        game = cls(record.server_seed, record.client_seed, record.nonce, record.mine_count)
        for tile in record.reveals:
            game.reveal(tile)
        game._settle_replay(record.state)
        return game
