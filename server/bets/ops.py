"""WebSocket ops of the instant games and provable fairness."""

from typing import Annotated, Any

from pydantic import Field, StrictStr

from server.bets.service import BetRequest, HistoryQuery
from server.ops import NoParams, register
from server.protocol import Params
from server.realtime.connection import Connection
from server.services import Services

ClientSeed = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
"""1-64 printable ASCII characters without spaces."""


class RotateParams(Params):
    client_seed: ClientSeed | None = None


def user_of(connection: Connection) -> tuple[str, str]:
    account = connection.account
    assert account is not None  # ops here need auth
    return account.id, account.name


@register("bet", BetRequest)
async def bet(services: Services, connection: Connection, params: BetRequest) -> dict[str, Any]:
    user_id, name = user_of(connection)
    return await services.bets.place(user_id, name, params)


@register("bets", HistoryQuery)
async def bets(services: Services, connection: Connection, params: HistoryQuery) -> dict[str, Any]:
    user_id, _ = user_of(connection)
    return await services.bets.history(user_id, params.limit, params.before, params.game)


@register("seeds", NoParams)
async def seeds(services: Services, connection: Connection, params: NoParams) -> dict[str, Any]:
    user_id, _ = user_of(connection)
    return {"active": await services.bets.seeds.public(user_id)}


@register("seeds.rotate", RotateParams)
async def rotate(
    services: Services, connection: Connection, params: RotateParams
) -> dict[str, Any]:
    """Reveal the active server seed and start a new pair (also how a client seed is set)."""
    user_id, _ = user_of(connection)
    return await services.bets.seeds.rotate(user_id, params.client_seed)
