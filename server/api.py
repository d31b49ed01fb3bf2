"""The HTTP API (JSON): accounts, wallet, health and metrics (the back office's is in
`server/admin.py`)."""

import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.auth import Account
from server.errors import CroupierError, ErrorCode
from server.http_errors import error_response
from server.ops import TransactionsParams
from server.protocol import (
    Params,
    parse_json_object,
    parse_params,
)
from server.readiness import not_ready_reason
from server.services import Services
from server.web_security import SESSION_COOKIE

P = TypeVar("P", bound=Params)
Endpoint = Callable[[Request], Awaitable[Response]]


class Credentials(Params):
    username: Annotated[StrictStr, Field(min_length=3, max_length=20)]
    password: Annotated[StrictStr, Field(min_length=8, max_length=128)]


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def handles_errors(endpoint: Endpoint) -> Endpoint:
    """Turn a CroupierError into its JSON error response and status."""

    @wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except CroupierError as error:
            return error_response(error)

    return wrapper


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer`, else from the session cookie."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_account(request: Request) -> Account:
    """The signed-in account; UNAUTHENTICATED without a valid session."""
    account = await services_of(request).accounts.resolve(bearer_token(request))
    if account is None:
        raise CroupierError(ErrorCode.UNAUTHENTICATED, "missing, invalid or expired session token")
    return account


async def json_body(request: Request, model: type[P]) -> P:
    """The request body validated by `model` (an empty body is `{}`)."""
    body = await request.body()
    data = parse_json_object(body) if body else {}
    return parse_params(model, data, services_of(request).validation_context)


def query(request: Request, model: type[P], int_fields: tuple[str, ...] = ()) -> P:
    """Query parameters validated by `model`; digit strings of `int_fields` become ints."""
    data: dict[str, Any] = dict(request.query_params)
    for name in int_fields:
        value = data.get(name)
        if value is not None and value.isascii() and value.isdigit() and len(value) <= 16:
            data[name] = int(value)
    return parse_params(model, data, services_of(request).validation_context)


def every_currency(services: Services, balances: dict[str, int]) -> dict[str, int]:
    """A balance for every configured currency (0 where the wallet has none)."""
    return {code: balances.get(code, 0) for code in services.settings.currencies}


def user_data(account: Account) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "kind": account.kind}


def session_response(request: Request, account: Account, token: str) -> JSONResponse:
    """Reply with the token and set it as an HttpOnly session cookie."""
    settings = services_of(request).settings
    response = JSONResponse({"token": token, "user": user_data(account)})
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@handles_errors
async def guest(request: Request) -> Response:
    services = services_of(request)
    await services.accounts.check_login_rate(client_address(request))
    account, token = await services.accounts.create_guest()
    return session_response(request, account, token)


async def _credentials_session(request: Request, register: bool) -> Response:
    services = services_of(request)
    credentials = await json_body(request, Credentials)
    await services.accounts.check_login_rate(client_address(request))
    open_account = services.accounts.register if register else services.accounts.login
    account, token = await open_account(credentials.username, credentials.password)
    return session_response(request, account, token)


@handles_errors
async def register(request: Request) -> Response:
    return await _credentials_session(request, register=True)


@handles_errors
async def login(request: Request) -> Response:
    return await _credentials_session(request, register=False)


@handles_errors
async def upgrade(request: Request) -> Response:
    """A guest chooses a username and password; same account, a new session."""
    services = services_of(request)
    guest = await current_account(request)
    credentials = await json_body(request, Credentials)
    await services.accounts.check_login_rate(client_address(request))
    token = bearer_token(request)
    assert token is not None
    account, new_token = await services.accounts.upgrade(
        guest, token, credentials.username, credentials.password
    )
    return session_response(request, account, new_token)


@handles_errors
async def logout(request: Request) -> Response:
    await current_account(request)
    token = bearer_token(request)
    assert token is not None
    await services_of(request).accounts.logout(token)
    response = JSONResponse({"ok": True})
    response.delete_cookie(SESSION_COOKIE)
    return response


@handles_errors
async def me(request: Request) -> Response:
    return JSONResponse({"user": user_data(await current_account(request))})


@handles_errors
async def wallet(request: Request) -> Response:
    services = services_of(request)
    account = await current_account(request)
    snapshot = await services.wallet.balances(account.id)
    return JSONResponse(
        {
            "balances": every_currency(services, snapshot.balances),
            "version": snapshot.version,
            "currencies": services.settings.currencies,
        }
    )


@handles_errors
async def transactions(request: Request) -> Response:
    services = services_of(request)
    account = await current_account(request)
    params = query(request, TransactionsParams, ("limit", "before"))
    items = await services.wallet.transactions(
        account.id, limit=params.limit, before=params.before, game=params.game
    )
    next_before = items[-1]["id"] if len(items) == params.limit else None
    return JSONResponse({"items": items, "next_before": next_before})


@handles_errors
async def faucet(request: Request) -> Response:
    """Play-money top-up, at most once per interval (the interval names the key)."""
    services = services_of(request)
    settings = services.settings
    account = await current_account(request)
    window = int(time.time()) // settings.faucet_interval_s
    await services.journal.check_room()
    movement = await services.wallet.credit(
        account.id,
        settings.faucet_amount,
        settings.faucet_currency,
        key=f"faucet:{window}",
        kind="deposit",
        ref="faucet",
    )
    if movement.replayed:
        wait_s = (window + 1) * settings.faucet_interval_s - int(time.time())
        raise CroupierError(ErrorCode.RATE_LIMITED, f"the faucet refills in {wait_s} s")
    return JSONResponse({"tx": movement.tx, "balance": movement.balance})


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    services = services_of(request)
    reason = await not_ready_reason(services.redis, services.runner)
    if reason is not None:
        return JSONResponse({"ready": False, "reason": reason}, status_code=503)
    # Ready either way: money at stake still settles while new stakes wait (UNAVAILABLE).
    return JSONResponse({"ready": True, "journal_full": await services.journal.full()})


async def metrics(request: Request) -> Response:
    return PlainTextResponse(services_of(request).metrics.render())


routes = [
    Route("/api/auth/guest", guest, methods=["POST"]),
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/upgrade", upgrade, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me),
    Route("/api/wallet", wallet),
    Route("/api/transactions", transactions),
    Route("/api/wallet/faucet", faucet, methods=["POST"]),
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
