"""WebSocket ops of a player's limits: `limits` (read) and `limits.set` (one change)."""

from typing import Any

from server.limits.requests import LimitChange
from server.ops import NoParams, register
from server.realtime.connection import Connection
from server.services import Services


@register("limits", NoParams)
async def limits(services: Services, connection: Connection, params: NoParams) -> dict[str, Any]:
    assert connection.user_id is not None
    return await services.limits.view(connection.user_id)


@register("limits.set", LimitChange)
async def set_limit(
    services: Services, connection: Connection, params: LimitChange
) -> dict[str, Any]:
    assert connection.user_id is not None
    return await services.limits.change(connection.user_id, params)
