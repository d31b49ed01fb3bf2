"""Registry of the instant games, by name."""

from decimal import Decimal

from games.base import InstantGame
from games.dice import Dice
from games.keno import Keno
from games.limbo import DEFAULT_MAX_TARGET, Limbo
from games.plinko import Plinko


def build_instant_games(limbo_max_target: Decimal = DEFAULT_MAX_TARGET) -> dict[str, InstantGame]:
    """The instant games by name, with Limbo targets capped at `limbo_max_target`."""
    games: list[InstantGame] = [Dice(), Limbo.capped(limbo_max_target), Plinko(), Keno()]
    return {game.name: game for game in games}


INSTANT_GAMES: dict[str, InstantGame] = build_instant_games()
