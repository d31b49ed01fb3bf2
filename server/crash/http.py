"""The Crash HTTP routes: history, the chain's public part, and verification."""

import asyncio
from typing import Annotated

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from games.crash import crash_point
from server.api import handles_errors, services_of
from server.crash.records import hundredths, show
from server.crash.service import CrashService
from server.protocol import Params, parse_params


class VerifyParams(Params):
    hash: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


def crash_of(request: Request) -> CrashService:
    crash: CrashService = request.app.state.crash
    return crash


async def history(request: Request) -> Response:
    """The last 50 rounds, newest first: id, point, hash, voided."""
    return JSONResponse({"items": await crash_of(request).store.history()})


async def chain(request: Request) -> Response:
    """The terminating hash, the salt, the chain's length and the current round."""
    crash = crash_of(request)
    state = await crash.store.round()
    return JSONResponse({**crash.chain.public(), "round_id": state.id if state else 0})


@handles_errors
async def verify(request: Request) -> Response:
    """A round hash's crash point, and its round number if it belongs to a round played.

    It costs at most checkpoint_interval SHA-256, whatever the number of rounds
    played (see Chain.locate); the count is in the metrics.
    """
    params = parse_params(VerifyParams, dict(request.query_params), {})
    crash = crash_of(request)
    state = await crash.store.round()
    played = state.id if state else 0
    chain = crash.chain
    round_id, hashed = await asyncio.to_thread(chain.locate, params.hash)
    services_of(request).metrics.crash_verify_hashes += hashed
    if round_id is not None and round_id > played:
        round_id = None
    return JSONResponse(
        {
            "hash": params.hash,
            "valid": round_id is not None,
            "round_id": round_id,
            "point": show(hundredths(crash_point(params.hash, chain.salt, chain.convention))),
            **chain.public(),
        }
    )


routes = [
    Route("/api/crash/history", history),
    Route("/api/crash/chain", chain),
    Route("/api/crash/verify", verify),
]
