"""WebSocket operations: each a params model and a handler, in one registry.

A handler receives the services, the connection and validated params, and
returns the reply's `data`. Game modules of the server add their ops here
through `register`.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr

from server.errors import CroupierError, ErrorCode
from server.protocol import GameName, Params
from server.realtime.connection import Connection
from server.realtime.hub import balance_frames
from server.services import Services

Handler = Callable[[Services, Connection, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Op:
    """One WebSocket operation."""

    params: type[Params]
    handler: Handler
    needs_auth: bool = True
    inline: bool = False
    """Run before the next frame is read (ops that change the socket's identity)."""


OPS: dict[str, Op] = {}


def register(
    name: str, params: type[Params], *, needs_auth: bool = True, inline: bool = False
) -> Callable[[Handler], Handler]:
    """Decorator adding a handler to the registry under `name`."""

    def decorate(handler: Handler) -> Handler:
        OPS[name] = Op(params, handler, needs_auth, inline)
        return handler

    return decorate


class AuthParams(Params):
    token: Annotated[StrictStr, Field(min_length=1, max_length=256)]


class NoParams(Params):
    pass


class TransactionsParams(Params):
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 50
    before: Annotated[StrictInt, Field(ge=1)] | None = None
    game: GameName | None = None


def account_data(services: Services, connection: Connection) -> dict[str, Any]:
    """The `user` object of replies: who this socket is."""
    account = connection.account
    assert account is not None
    return {"id": account.id, "name": account.name, "kind": account.kind}


async def authenticate(services: Services, connection: Connection, token: str | None) -> bool:
    """Bind the socket to the token's account and session, subscribe it, send its balances."""
    signed_in = await services.accounts.resolve_session(token)
    if signed_in is None:
        return False
    account, session = signed_in
    if connection.account is not None and connection.account.id != account.id:
        raise CroupierError(ErrorCode.FORBIDDEN, "this socket is signed in as another user")
    connection.account = account
    await services.hub.attach(connection, session)
    for frame in balance_frames(await services.wallet.balances(account.id)):
        connection.send(frame)
    return True


@register("auth", AuthParams, needs_auth=False, inline=True)
async def auth(services: Services, connection: Connection, params: AuthParams) -> dict[str, Any]:
    if not await authenticate(services, connection, params.token):
        raise CroupierError(ErrorCode.UNAUTHENTICATED, "invalid, expired or revoked token")
    return {"user": account_data(services, connection)}


@register("ping", NoParams, needs_auth=False)
async def ping(services: Services, connection: Connection, params: NoParams) -> dict[str, Any]:
    return {"pong": int(time.time() * 1000)}


@register("wallet", NoParams)
async def wallet(services: Services, connection: Connection, params: NoParams) -> dict[str, Any]:
    assert connection.user_id is not None
    snapshot = await services.wallet.balances(connection.user_id)
    return {
        "balances": {code: snapshot.balances.get(code, 0) for code in services.settings.currencies},
        "version": snapshot.version,
        "currencies": services.settings.currencies,
    }


@register("transactions", TransactionsParams)
async def transactions(
    services: Services, connection: Connection, params: TransactionsParams
) -> dict[str, Any]:
    assert connection.user_id is not None
    items = await services.wallet.transactions(
        connection.user_id, limit=params.limit, before=params.before, game=params.game
    )
    next_before = items[-1]["id"] if len(items) == params.limit else None
    return {"items": items, "next_before": next_before}
