"""HTTP routes of a player's limits: `GET /api/limits` and `PUT /api/limits`."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.api import current_account, handles_errors, json_body, services_of
from server.limits.requests import LimitChange


@handles_errors
async def limits(request: Request) -> Response:
    """The signed-in player's limits and history (GET) or one change of them (PUT)."""
    account = await current_account(request)
    player_limits = services_of(request).limits
    if request.method == "GET":
        return JSONResponse(await player_limits.view(account.id))
    change = await json_body(request, LimitChange)
    return JSONResponse(await player_limits.change(account.id, change))


routes = [Route("/api/limits", limits, methods=["GET", "PUT"])]
