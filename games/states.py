"""Guarded state machines and the common core of the step-by-step games.

- the errors a game raises when it refuses a player's action;
- `transition`, a move checked against a transition table;
- `SteppedGame`, the ACTIVE -> CASHED | LOST life cycle of a game played one
  step at a time from a bet's floats (Mines, Hilo), with its exact payout;
- `floor_decimal`, the rounding that turns an exact multiplier into what pays.
"""

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from decimal import Decimal
from enum import Enum, StrEnum
from fractions import Fraction
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from games.fairness import iter_floats

PAYOUT_PLACES = 4
"""A stepped game pays its exact multiplier floored to this many decimals."""


class GameError(Exception):
    """Base of the errors a game raises instead of changing its state."""


class IllegalTransitionError(GameError):
    """A state machine was asked for a move its transition table forbids."""


class GameNotActiveError(GameError):
    """An action on a game that is already cashed out or lost."""


class InvalidActionError(GameError):
    """An action the rules refuse in the current position."""


StateT = TypeVar("StateT", bound=Enum)


def transition(
    moves: Mapping[StateT, Collection[StateT]], current: StateT, target: StateT
) -> StateT:
    """Return `target` if `moves` allows current -> target, else raise IllegalTransitionError."""
    if target not in moves[current]:
        raise IllegalTransitionError(f"{current.value} -> {target.value}")
    return target


def floor_decimal(value: Fraction, places: int) -> Decimal:
    """`value` rounded toward -infinity to `places` decimals, exactly."""
    scaled = value.numerator * 10**places // value.denominator
    return Decimal(f"{scaled}E-{places}")  # built from text: no context rounding


class GameState(StrEnum):
    """Life cycle of a stepped game."""

    ACTIVE = "active"
    CASHED = "cashed"
    LOST = "lost"


_GAME_MOVES: Mapping[GameState, frozenset[GameState]] = {
    GameState.ACTIVE: frozenset({GameState.CASHED, GameState.LOST}),
    GameState.CASHED: frozenset(),
    GameState.LOST: frozenset(),
}


class GameRecord(BaseModel):
    """Server-side record of a stepped game (holds the secret server seed).

    A record lists the player's actions, not their results: loading it replays
    the actions from the seeds, so a stored game can never disagree with them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    server_seed: str
    client_seed: str
    nonce: int = Field(ge=0)
    state: GameState


class SteppedGame(ABC):
    """A game played step by step from one bet's floats until cashout or loss."""

    def __init__(self, server_seed: str, client_seed: str, nonce: int) -> None:
        self.server_seed = server_seed
        self.client_seed = client_seed
        self.nonce = nonce
        self.state = GameState.ACTIVE
        self._floats = iter_floats(server_seed, client_seed, nonce)

    @property
    @abstractmethod
    def multiplier(self) -> Fraction:
        """Exact multiplier the player's progress is worth (before payout rounding)."""

    @property
    @abstractmethod
    def can_cashout(self) -> bool:
        """Whether the rules allow cashing out at this point."""

    @property
    def payout_multiplier(self) -> Decimal:
        """What a cashout pays per unit staked: `multiplier` floored to 4 decimals, 0 if lost."""
        if self.state is GameState.LOST:
            return Decimal(0)
        return floor_decimal(self.multiplier, PAYOUT_PLACES)

    def cashout(self) -> Decimal:
        """End the game as a win and return the multiplier that pays."""
        self._require_active()
        if not self.can_cashout:
            raise InvalidActionError("nothing to cash out yet")
        self._finish(GameState.CASHED)
        return self.payout_multiplier

    def _require_active(self) -> None:
        if self.state is not GameState.ACTIVE:
            raise GameNotActiveError(f"game is {self.state.value}")

    def _finish(self, result: GameState) -> None:
        self.state = transition(_GAME_MOVES, self.state, result)

    def _next_float(self) -> float:
        return next(self._floats)

    def _record_fields(self) -> dict[str, Any]:
        return {
            "server_seed": self.server_seed,
            "client_seed": self.client_seed,
            "nonce": self.nonce,
            "state": self.state,
        }

    def _settle_replay(self, recorded: GameState) -> None:
        """After replaying a record's actions: apply its cashout, check it reached its state."""
        if recorded is GameState.CASHED and self.state is GameState.ACTIVE:
            self.cashout()
        if self.state is not recorded:
            raise ValueError(f"record says {recorded.value}, its actions give {self.state.value}")
