"""The Crash WebSocket ops: crash.bet, crash.cashout, crash.state, crash.history."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from server.crash.service import CrashService
from server.ops import NoParams, register
from server.protocol import Amount, Currency, IdempotencyKey, Params
from server.realtime.connection import Connection
from server.services import Services

AutoCashout = Annotated[Decimal, Field(ge=Decimal("1.01"), le=Decimal("1000000"), decimal_places=2)]
"""A cashout target: a multiplier from 1.01 to 1000000 with at most two decimals."""


class BetParams(Params):
    amount: Amount
    currency: Currency
    auto_cashout: AutoCashout | None = None
    key: IdempotencyKey


def crash_of(connection: Connection) -> CrashService:
    """The instance's CrashService (set on the app by the lifespan)."""
    crash: CrashService = connection.websocket.app.state.crash
    return crash


@register("crash.bet", BetParams)
async def crash_bet(
    services: Services, connection: Connection, params: BetParams
) -> dict[str, Any]:
    assert connection.account is not None
    return await crash_of(connection).players.bet(
        connection.account, params.amount, params.currency, params.auto_cashout, params.key
    )


@register("crash.cashout", NoParams)
async def crash_cashout(
    services: Services, connection: Connection, params: NoParams
) -> dict[str, Any]:
    assert connection.user_id is not None
    return await crash_of(connection).players.cashout(connection.user_id)


@register("crash.state", NoParams, needs_auth=False)
async def crash_state(
    services: Services, connection: Connection, params: NoParams
) -> dict[str, Any]:
    return await crash_of(connection).state()


@register("crash.history", NoParams, needs_auth=False)
async def crash_history(
    services: Services, connection: Connection, params: NoParams
) -> dict[str, Any]:
    return {"items": await crash_of(connection).store.history()}
