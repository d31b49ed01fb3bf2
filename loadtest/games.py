"""The game mix: what one round of each game sends.

A game is anything with a `name` and an async `play(player)` that plays one
round through the player's ops: `Player.bet` for the instant games,
`Player.send` for Mines and Crash, each reporting the settled bet to
`Player.settled`.
"""

import asyncio
import random
import time
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


@dataclass(frozen=True)
class MinesRound:
    """Mines with 1-10 mines: reveal 1-4 random tiles, then cash out unless a mine ended it."""

    name: str = "mines"

    async def play(self, player: "Player") -> None:
        rng = player.rng
        start = {
            "amount": player.options.amount,
            "currency": player.options.currency,
            "mines": rng.randint(1, 10),
            "key": player.next_key(),
        }
        if await player.send("mines:start", "mines.start", start, keyed=True) is None:
            return
        for tile in rng.sample(range(25), rng.randint(1, 4)):
            reply = await player.send("mines:reveal", "mines.reveal", {"tile": tile}, keyed=False)
            if reply is None:
                return
            if reply.get("bet"):  # a mine, or every safe tile found
                player.settled(reply["bet"])
                return
        reply = await player.send("mines:cashout", "mines.cashout", {}, keyed=False)
        if reply is not None:
            player.settled(reply["bet"])


CRASH_TARGETS = ("1.10", "1.50", "2.00", "3.00")
"""Automatic cashouts: 3.00 is reached 18 s into a round, so rounds stay short."""
CRASH_POLL_S = 0.1
CRASH_ROUND_S = 60.0
"""The longest wait for a bet to end (and for a betting phase, which must also come
before the end of the run)."""
CRASH_MARGIN_MS = 200
"""A bet is sent only while at least this long is left of the betting phase."""


@dataclass(frozen=True)
class CrashRound:
    """One Crash round with an automatic cashout target, followed through `crash.state`."""

    name: str = "crash"

    async def play(self, player: "Player") -> None:
        until_end_of_run = min(player.deadline - time.time(), CRASH_ROUND_S)
        if await _crash_state(player, _open_for_bets, until_end_of_run) is None:
            return
        request = {
            "amount": player.options.amount,
            "currency": player.options.currency,
            "auto_cashout": player.rng.choice(CRASH_TARGETS),
            "key": player.next_key(),
        }
        placed = await player.send("crash:bet", "crash.bet", request, keyed=True)
        if placed is None:
            return
        round_id = placed["round_id"]

        def mine(state: dict[str, Any]) -> dict[str, Any] | None:
            if state["round_id"] != round_id:
                return None
            return next((p for p in state["players"] if p["name"] == player.name), None)

        def settled(state: dict[str, Any]) -> bool:
            bet = mine(state)
            return state["round_id"] != round_id or (bet is not None and bet["status"] != "open")

        ended = await _crash_state(player, settled, CRASH_ROUND_S)
        bet = mine(ended) if ended is not None else None
        if bet is None:
            player.unresolved += 1  # the end of the bet was not seen
            return
        payout = {"cashed": bet["payout"], "void": bet["amount"]}.get(bet["status"], 0)
        player.settled({"currency": bet["currency"], "amount": bet["amount"], "payout": payout})


def _open_for_bets(state: dict[str, Any]) -> bool:
    left_ms = (state.get("betting_ends") or 0) - state["server_time"]
    return bool(state["phase"] == "betting" and left_ms > CRASH_MARGIN_MS)


async def _crash_state(
    player: "Player", wanted: Callable[[dict[str, Any]], bool], within_s: float
) -> dict[str, Any] | None:
    """Poll `crash.state` until `wanted` holds (None on failure or after `within_s`)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        state = await player.send("crash:state", "crash.state", {}, keyed=False)
        if state is None:
            return None
        if state["round_id"] is not None and wanted(state):
            return state
        await asyncio.sleep(CRASH_POLL_S)
    return None


GAMES: dict[str, Game] = {
    game.name: game
    for game in (
        InstantGame("dice", dice_params),
        InstantGame("limbo", limbo_params),
        InstantGame("plinko", plinko_params),
        InstantGame("keno", keno_params),
        MinesRound(),
        CrashRound(),
    )
}
INSTANT_GAMES = ("dice", "limbo", "plinko", "keno")
"""The default mix."""


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
