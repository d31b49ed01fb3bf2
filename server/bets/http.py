"""HTTP routes of the instant games: bet history, seeds, verification, game list."""

from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from games.fairness import hash_server_seed
from server.api import current_account, handles_errors, json_body, query, services_of
from server.bets.ops import ClientSeed, RotateParams
from server.bets.outcome import parse_game_params, play
from server.bets.service import HistoryQuery
from server.protocol import GameName, Params


class VerifyRequest(Params):
    game: GameName
    server_seed: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    client_seed: ClientSeed
    nonce: Annotated[StrictInt, Field(ge=0, le=2**53 - 1)]
    params: dict[str, Any] = Field(default_factory=dict)


@handles_errors
async def bet_history(request: Request) -> Response:
    account = await current_account(request)
    page = query(request, HistoryQuery, ("limit", "before"))
    bets = services_of(request).bets
    return JSONResponse(await bets.history(account.id, page.limit, page.before, page.game))


@handles_errors
async def seeds(request: Request) -> Response:
    account = await current_account(request)
    return JSONResponse({"active": await services_of(request).bets.seeds.public(account.id)})


@handles_errors
async def rotate(request: Request) -> Response:
    account = await current_account(request)
    params = await json_body(request, RotateParams)
    return JSONResponse(
        await services_of(request).bets.seeds.rotate(account.id, params.client_seed)
    )


@handles_errors
async def verify(request: Request) -> Response:
    """Recompute what revealed seeds decided in any instant or step game; needs no account."""
    check = await json_body(request, VerifyRequest)
    services = services_of(request)
    seeds = (check.server_seed, check.client_seed, check.nonce)
    result: dict[str, Any] = {
        "game": check.game,
        "server_seed_hash": hash_server_seed(check.server_seed),
        "client_seed": check.client_seed,
        "nonce": check.nonce,
    }
    rules = services.stepped.rules.get(check.game)
    if rules is not None:
        params = parse_game_params(rules.verify_params, check.params)
        result["outcome"] = rules.verify(*seeds, params)
    else:
        game = services.bets.game(check.game)
        params = parse_game_params(game.params_model, check.params)
        outcome = play(game, params, *seeds)
        result |= {"multiplier": str(outcome.multiplier), "outcome": outcome.details}
    result["params"] = params.model_dump(mode="json")
    return JSONResponse(result)


async def games(request: Request) -> Response:
    """Every game with the JSON schema of its params (and its payout table, for a game that
    pays from one), and the bet limits per currency."""
    services = services_of(request)
    instant: dict[str, dict[str, Any]] = {}
    for name, game in services.bets.games.items():
        instant[name] = {"kind": "instant", "params": game.params_model.model_json_schema()}
        table = getattr(game, "payout_table", None)
        if table is not None:
            instant[name]["payout_table"] = table()
    stepped = {
        name: {
            "kind": "stepped",
            "params": rules.start_params.model_json_schema(),
            "actions": {
                action: model.model_json_schema() for action, model in rules.actions.items()
            },
        }
        for name, rules in services.stepped.rules.items()
    }
    return JSONResponse(
        {
            "games": {**instant, **stepped},
            "limits": {
                code: limits.model_dump() for code, limits in services.settings.bet_limits.items()
            },
            "currencies": services.settings.currencies,
        }
    )


routes = [
    Route("/api/bets", bet_history),
    Route("/api/fairness/seeds", seeds),
    Route("/api/fairness/rotate", rotate, methods=["POST"]),
    Route("/api/fairness/verify", verify, methods=["POST"]),
    Route("/api/games", games),
]
