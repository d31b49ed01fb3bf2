"""From a bet's seeds and params to its outcome: the one place outcomes are made.

Used to settle bets, to recover bets a dead process left open, and to verify
any bet from its revealed seeds: all three run the same code.
"""

from typing import Any

from pydantic import BaseModel, ValidationError

from games.base import InstantGame, Outcome
from games.fairness import floats
from server.errors import CroupierError, ErrorCode
from server.protocol import validation_error


def parse_game_params(model: type[BaseModel], raw: Any) -> BaseModel:
    """A game's params (`model`), validated; BAD_REQUEST names the failing `params.<field>`."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        failure = validation_error(error)
        field = f"params.{failure.field}" if failure.field else "params"
        message = failure.message.replace(f"{failure.field}:", f"{field}:", 1)
        raise CroupierError(ErrorCode.BAD_REQUEST, message, field) from None


def play(
    game: InstantGame, params: BaseModel, server_seed: str, client_seed: str, nonce: int
) -> Outcome:
    """The outcome of one round of `game`, decided by the seed pair and nonce only."""
    needed = game.floats_needed(params)
    return game.play(params, floats(server_seed, client_seed, nonce, needed))
