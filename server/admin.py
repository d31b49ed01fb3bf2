"""The back office's API, `/api/admin/...`: sign-in check, live figures, user lookup,
balance adjustments, revoking sessions, the action log and the reports.

Every route needs, in an `Authorization: Bearer` header, either the admin token
(`CROUPIER_ADMIN_TOKEN`, compared in constant time; the admin's name comes in
`X-Admin-Actor`) or the session token of a registered account that holds the
admin role (its id listed in `CROUPIER_ADMIN_USERS`; the name is its username); else FORBIDDEN
(BAD_REQUEST for a malformed name). Neither is read from a cookie or the query
string, so a page of the player site or a link cannot act with them. Every
action that changes something, and every look at a user's account, is written
to the action log (`server/admin_log.py`) with that name.
"""

import hashlib
import hmac
import re
import time
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.admin_log import recent_actions, record_action
from server.admin_reports import house_profit, last_minute, top_winners
from server.admin_sessions import revoke_sessions, user_sessions
from server.api import (
    Endpoint,
    every_currency,
    handles_errors,
    json_body,
    query,
    services_of,
    user_data,
)
from server.auth import USERNAMES_KEY, Account
from server.crash.records import BetStatus
from server.errors import CroupierError, ErrorCode
from server.protocol import Amount, Currency, IdempotencyKey, Params, parse_params

ACTOR_HEADER = "x-admin-actor"
UserId = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{16}$")]
Reason = Annotated[StrictStr, Field(pattern=r"^[^\x00-\x1f\x7f]{1,200}$")]
"""Why an action was taken: 1-200 characters, no control characters (it goes to PostgreSQL)."""
_USER_ID = re.compile(r"^[0-9a-f]{16}$")
_LOOKUP_ROWS = 20


class Actor(Params):
    actor: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9 _.@\-]{1,40}$")]


class Adjustment(Params):
    user: UserId
    amount: Amount
    currency: Currency
    key: IdempotencyKey
    reason: Reason


class Revocation(Params):
    user: UserId
    reason: Reason


class Lookup(Params):
    q: Annotated[StrictStr, Field(min_length=1, max_length=40)]


class ActionsPage(Params):
    limit: Annotated[StrictInt, Field(ge=1, le=200)] = 50
    before: Annotated[StrictInt, Field(ge=1)] | None = None


class ProfitParams(Params):
    bucket: Literal["hour", "day"] = "hour"
    periods: Annotated[StrictInt, Field(ge=1, le=366)] = 24


class WinnersParams(Params):
    hours: Annotated[StrictInt, Field(ge=1, le=24 * 366)] = 24
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 10


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


async def admin_actor(request: Request) -> str:
    """The signed-in admin's name: FORBIDDEN unless `Authorization: Bearer` holds the
    configured admin token (compared in constant time, also in length) or the session
    token of a registered account with the admin role."""
    services = services_of(request)
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    expected = services.settings.admin_token
    if expected and hmac.compare_digest(_digest(given), _digest(expected)):
        data = {"actor": request.headers.get(ACTOR_HEADER, "")}
        return parse_params(Actor, data, {}).actor
    admins = services.settings.admin_users
    account = await services.accounts.resolve(given) if admins and given else None
    if account is None or account.kind != "registered" or account.id not in admins:
        raise CroupierError(ErrorCode.FORBIDDEN, "admin token or admin session required")
    return account.name


@handles_errors
async def whoami(request: Request) -> Response:
    """The admin's name and the currencies (code -> decimals): the sign-in check."""
    actor = await admin_actor(request)
    return JSONResponse({"actor": actor, "currencies": services_of(request).settings.currencies})


_GUESTS_NAMED = """
SELECT id FROM users WHERE kind = 'guest' AND name = $1 ORDER BY created_at, id LIMIT 5
"""


async def _find_account(request: Request, text: str) -> Account | None:
    """The account with this id, registered username or guest name (`guest-` and the
    first six digits of its id); BAD_REQUEST when several guests share the name."""
    services = services_of(request)
    accounts = services.accounts
    if _USER_ID.match(text) and (account := await accounts.get(text)) is not None:
        return account
    user_id = await services.redis.hget(USERNAMES_KEY, text.lower())
    if user_id:
        return await accounts.get(user_id)
    guests = [row["id"] for row in await services.database.fetch(_GUESTS_NAMED, text.lower())]
    if len(guests) > 1:
        raise CroupierError(
            ErrorCode.BAD_REQUEST,
            f"{len(guests)} or more guests are named {text.lower()}: look one up by id"
            f" ({', '.join(guests)})",
            "q",
        )
    return await accounts.get(guests[0]) if guests else None


@handles_errors
async def user_lookup(request: Request) -> Response:
    """A user by id, registered username or guest name: account, balances, recent ledger
    entries and bets, live sessions, responsible-play limits and their changes (read-only:
    nothing here changes them). Each lookup is logged, found or not: once per admin, user
    and minute (the page reads the user again after each action)."""
    actor = await admin_actor(request)
    services = services_of(request)
    lookup = query(request, Lookup)
    account = await _find_account(request, lookup.q.strip())
    await record_action(
        services.database,
        actor=actor,
        action="lookup",
        target_user=account.id if account else None,
        details={"q": lookup.q.strip(), "found": account is not None},
        reason="",
        key=f"lookup:{int(time.time()) // 60}:{actor}",
    )
    if account is None:
        raise CroupierError(ErrorCode.NOT_FOUND, "no user with this id, username or name", "q")
    snapshot = await services.wallet.balances(account.id)
    sessions = await user_sessions(services.redis, account.id)
    return JSONResponse(
        {
            "user": {**user_data(account), "created_at": account.created_at},
            "balances": every_currency(services, snapshot.balances),
            "ledger": await services.wallet.transactions(account.id, limit=_LOOKUP_ROWS),
            "bets": (await services.bets.history(account.id, _LOOKUP_ROWS, None, None))["items"],
            "sessions": [
                {"id": session.id[:12], "expires_at": session.expires_at} for session in sessions
            ],
            "limits": await services.limits.view(account.id),
        }
    )


def adjuster(credit: bool) -> Endpoint:
    """The endpoint of an admin credit or debit (ledger type `adjust`, the reason as its
    ref) under the admin's own key space, then its line in the action log: a retry with
    the same key moves the money once and logs it once."""

    @handles_errors
    async def adjust(request: Request) -> Response:
        actor = await admin_actor(request)
        adjustment = await json_body(request, Adjustment)
        services = services_of(request)
        if await services.accounts.get(adjustment.user) is None:  # else a wallet appears for it
            raise CroupierError(ErrorCode.NOT_FOUND, "no such user", "user")
        wallet = services.wallet
        move = wallet.credit if credit else wallet.debit
        key = f"admin:{adjustment.key}"
        movement = await move(
            adjustment.user,
            adjustment.amount,
            adjustment.currency,
            key=key,
            kind="adjust",
            ref=adjustment.reason,
        )
        await record_action(
            services.database,
            actor=actor,
            action="credit" if credit else "debit",
            target_user=adjustment.user,
            details={
                "amount": adjustment.amount,
                "currency": adjustment.currency,
                "tx": movement.tx["id"] if movement.tx else None,
                "balance": movement.balance,
            },
            reason=adjustment.reason,
            key=key,
        )
        return JSONResponse(
            {"tx": movement.tx, "balance": movement.balance, "replayed": movement.replayed}
        )

    return adjust


@handles_errors
async def revoke(request: Request) -> Response:
    """End every session of a user: its sockets on every instance close with 4001."""
    actor = await admin_actor(request)
    revocation = await json_body(request, Revocation)
    services = services_of(request)
    if await services.accounts.get(revocation.user) is None:
        raise CroupierError(ErrorCode.NOT_FOUND, "no such user", "user")
    ended = await revoke_sessions(services.redis, revocation.user)
    await record_action(
        services.database,
        actor=actor,
        action="revoke_sessions",
        target_user=revocation.user,
        details={"sessions": ended},
        reason=revocation.reason,
    )
    return JSONResponse({"revoked": ended})


@handles_errors
async def actions(request: Request) -> Response:
    """The action log, newest first."""
    await admin_actor(request)
    page = query(request, ActionsPage, ("limit", "before"))
    items = await recent_actions(services_of(request).database, page.limit, page.before)
    next_before = items[-1]["id"] if len(items) == page.limit else None
    return JSONResponse({"items": items, "next_before": next_before})


@handles_errors
async def profit_report(request: Request) -> Response:
    await admin_actor(request)
    params = query(request, ProfitParams, ("periods",))
    return JSONResponse(
        await house_profit(services_of(request).database, params.bucket, params.periods)
    )


@handles_errors
async def winners_report(request: Request) -> Response:
    await admin_actor(request)
    params = query(request, WinnersParams, ("hours", "limit"))
    items = await top_winners(services_of(request).database, params.hours, params.limit)
    return JSONResponse({"hours": params.hours, "items": items})


async def _crash_figures(request: Request) -> dict[str, Any]:
    """The current Crash round, its open bets and stakes per currency, the house limits."""
    crash = request.app.state.crash
    state, bets, _ = await crash.store.snapshot()
    open_stakes: dict[str, dict[str, int]] = {}
    for bet in bets:
        if bet.status is BetStatus.OPEN:
            stake = open_stakes.setdefault(bet.currency, {"bets": 0, "stakes": 0})
            stake["bets"] += 1
            stake["stakes"] += bet.amount
    return {
        "round_id": state.id if state else None,
        "phase": state.phase.value if state else None,
        "multiplier_x100": state.mult if state else None,
        "open": open_stakes,
        "max_payout_per_round": crash.settings.max_payout_per_round,
    }


@handles_errors
async def live(request: Request) -> Response:
    """Sockets on this instance, the last minute's bets (every instance), the Crash round."""
    await admin_actor(request)
    services = services_of(request)
    return JSONResponse(
        {
            "sockets": services.metrics.ws_connections,
            "last_minute": await last_minute(services.database),
            "crash": await _crash_figures(request),
        }
    )


routes = [
    Route("/api/admin/whoami", whoami),
    Route("/api/admin/live", live),
    Route("/api/admin/users", user_lookup),
    Route("/api/admin/credit", adjuster(credit=True), methods=["POST"]),
    Route("/api/admin/debit", adjuster(credit=False), methods=["POST"]),
    Route("/api/admin/sessions/revoke", revoke, methods=["POST"]),
    Route("/api/admin/actions", actions),
    Route("/api/admin/reports/profit", profit_report),
    Route("/api/admin/reports/winners", winners_report),
]
