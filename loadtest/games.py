"""The game mix: what one round of each game sends.

A game is anything with a `name` and an async `play(player)` that plays one
round through the player's ops (`Player.bet` for the instant games). Adding
Crash or Mines is one class with its ops and one line in `GAMES`.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from loadtest.user import Player

Params = dict[str, Any]


class Game(Protocol):
    """One game of the mix."""

    @property
    def name(self) -> str: ...

    async def play(self, player: "Player") -> None:
        """Play one round (one or more ops) as `player`."""


@dataclass(frozen=True)
class InstantGame:
    """A game settled by one `bet` op, with random params each round."""

    name: str
    params: Callable[[random.Random], Params]

    async def play(self, player: "Player") -> None:
        await player.bet(self.name, self.params(player.rng))


def dice_params(rng: random.Random) -> Params:
    return {
        "target": f"{rng.randint(200, 9800) / 100:.2f}",
        "condition": rng.choice(("over", "under")),
    }


def limbo_params(rng: random.Random) -> Params:
    return {"target": rng.choice(("1.10", "1.50", "2.00", "3.00", "10.00", "100.00"))}


def plinko_params(rng: random.Random) -> Params:
    return {"rows": rng.randint(8, 16), "risk": rng.choice(("low", "medium", "high"))}


def keno_params(rng: random.Random) -> Params:
    return {
        "picks": rng.sample(range(1, 41), rng.randint(1, 10)),
        "risk": rng.choice(("classic", "low", "medium", "high")),
    }


GAMES: dict[str, Game] = {
    game.name: game
    for game in (
        InstantGame("dice", dice_params),
        InstantGame("limbo", limbo_params),
        InstantGame("plinko", plinko_params),
        InstantGame("keno", keno_params),
    )
}


def parse_mix(text: str) -> dict[str, float]:
    """`dice:4,limbo:1` (weights) or `dice,limbo` (equal weights) -> name -> weight."""
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, _, weight = part.strip().partition(":")
        if name not in GAMES:
            raise ValueError(f"unknown game {name!r}; known: {', '.join(GAMES)}")
        value = float(weight) if weight else 1.0
        if value <= 0:
            raise ValueError(f"the weight of {name} must be positive")
        mix[name] = value
    return mix
