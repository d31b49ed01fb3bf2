"""Property-based fuzzing of the WebSocket protocol and the HTTP routes of a real server.

Whatever arrives (valid and invalid ops, wrong types, huge, negative and float
amounts, unknown currencies, random JSON, text that is not JSON, binary), every
frame gets one documented reply (`ok`, or an error whose code is an ErrorCode
other than INTERNAL), no HTTP answer is a 500 or anything but the JSON error
when it fails, the socket stays open, and every ledger still sums to its balance.
"""

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from starlette.routing import Route

from server.admin import routes as admin_routes
from server.api import routes as api_routes
from server.app import OP_MODULES
from server.audit import audit_user
from server.bets.http import routes as bet_routes
from server.crash.http import routes as crash_routes
from server.errors import ErrorCode
from server.ops import OPS
from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.wsclient import WsClient, new_guest

assert OP_MODULES  # imported for its side effect: every op is registered in OPS

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
)
DOCUMENTED_ERRORS = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value}
FIELDS = sorted({name for op in OPS.values() for name in op.params.model_fields})
GAME_PARAMS = {
    "dice": {"target": 50.5, "condition": "over"},
    "limbo": {"target": "2.50"},
    "plinko": {"rows": 12, "risk": "medium"},
    "keno": {"picks": [3, 9, 14, 22, 31], "risk": "classic"},
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
amounts = (
    st.integers(min_value=1, max_value=500)
    | st.sampled_from([0, -1, -(2**53), 2**53 - 1, 2**53, 10**30, 1.5, 100.0, "100", True])
    | scalars
)
currencies = st.sampled_from(["PLAY", "BTC", "DOGE", "play", "", "PLAYPLAYPLAYPLAY"]) | scalars
field_values = st.one_of(
    json_values,
    amounts,
    currencies,
    st.sampled_from([*sorted(GAME_PARAMS), "crash", "mines", "Dice!", "../x"]),
    st.sampled_from(list(GAME_PARAMS.values())),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(["higher", "lower", "skip", "over", "under"]),
)
request_ids = (
    st.integers(min_value=0, max_value=2**53 - 1) | st.text(max_size=64) | scalars | json_values
)


keys = st.text(alphabet="0123456789abcdef", min_size=6, max_size=6)
stakes = st.fixed_dictionaries(
    {
        "amount": st.integers(min_value=1, max_value=300),
        "currency": st.sampled_from(["PLAY", "PLAY", "BTC"]),
        "key": keys,
    }
)
PLAUSIBLE: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "auth": st.fixed_dictionaries({"token": st.text(min_size=1, max_size=50)}),
    "bet": st.sampled_from(sorted(GAME_PARAMS)).flatmap(
        lambda game: stakes.map(lambda stake: {**stake, "game": game, "params": GAME_PARAMS[game]})
    ),
    "mines.start": stakes.map(lambda stake: {**stake, "mines": 3}),
    "hilo.start": stakes,
    "quiz.start": stakes,
    "crash.bet": stakes.map(lambda stake: {**stake, "auto_cashout": "2.00"}),
    "mines.reveal": st.fixed_dictionaries({"tile": st.integers(min_value=0, max_value=24)}),
    "hilo.guess": st.fixed_dictionaries(
        {"guess": st.sampled_from(["higher_or_same", "lower_or_same", "skip"])}
    ),
    "quiz.answer": st.fixed_dictionaries({"choice": st.integers(min_value=0, max_value=3)}),
    "transactions": st.fixed_dictionaries({"limit": st.integers(min_value=1, max_value=100)}),
    "bets": st.fixed_dictionaries({"limit": st.integers(min_value=1, max_value=100)}),
    "seeds.rotate": st.fixed_dictionaries({"client_seed": st.text(min_size=1, max_size=64)}),
}
"""Params an op accepts (or nearly: an action may find no game), by op; others take none."""


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """An op frame: a plausible request of a known op, then perhaps one thing wrong
    (a field's value, a missing or an unknown field, the op), with an id or without."""
    op = draw(st.sampled_from(sorted(OPS)))
    request: dict[str, Any] = {"op": op, **draw(PLAUSIBLE.get(op, st.just({})))}
    fields = sorted(set(request) - {"op"})
    mutation = draw(st.sampled_from(["none", "none", "value", "drop", "extra", "op"]))
    if mutation == "value" and fields:
        request[draw(st.sampled_from(fields))] = draw(field_values)
    elif mutation == "drop" and fields:
        del request[draw(st.sampled_from(fields))]
    elif mutation == "extra":
        request[draw(st.sampled_from(FIELDS) | st.text(max_size=8))] = draw(field_values)
    elif mutation == "op":
        request["op"] = draw(scalars)
    if draw(st.booleans()):
        request["id"] = draw(request_ids)
    return request


request_frames = requests().map(json.dumps)
frames = st.one_of(  # mostly requests, some anything at all
    *[request_frames] * 4,
    json_values.map(json.dumps),
    st.text(max_size=100),
    st.binary(max_size=40),
)


def assert_documented_reply(message: dict[str, Any]) -> None:
    assert set(message) in ({"re", "ok", "data"}, {"re", "ok", "error"}), message
    if message["ok"] is True:
        assert isinstance(message["data"], dict)
        return
    assert message["ok"] is False, message
    error = message["error"]
    assert error["code"] in DOCUMENTED_ERRORS, message
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "field"}


def expected_re(frame: str | bytes) -> Any:
    """The `re` of the reply: the frame's id when the frame is an object with a valid id."""
    if isinstance(frame, bytes):
        return None  # binary frames are refused unread
    try:
        request = json.loads(frame, parse_constant=reject)
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    request_id = request.get("id")
    valid_int = type(request_id) is int and 0 <= request_id <= 2**53 - 1
    valid_str = isinstance(request_id, str) and len(request_id) <= 64
    return request_id if valid_int or valid_str else None


def reject(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")


async def next_reply(client: WsClient) -> dict[str, Any]:
    """The next reply: events are skipped (the client queues them apart)."""
    message: dict[str, Any] = await client.next_orphan(timeout=10)
    return message


@dataclass
class Player:
    token: str
    user_id: str


@pytest.fixture(scope="module")
async def players(server: ServerProcess) -> AsyncIterator[list[Player]]:
    """Two guests: one plays over the socket, one over HTTP."""
    async with httpx.AsyncClient(timeout=30) as http:
        made = [await new_guest(http, server.base_url) for _ in range(2)]
    yield [Player(token, user["id"]) for token, user in made]


async def assert_ledgers_add_up(redis: Redis, players: list[Player]) -> None:
    for player in players:
        audit = await audit_user(redis, player.user_id)
        assert audit.ok, audit.problems
        assert not audit.went_negative


@FUZZ
@given(batch=st.lists(frames, min_size=1, max_size=12))
async def test_every_frame_gets_a_documented_reply_and_the_socket_stays_open(
    server: ServerProcess, redis: Redis, players: list[Player], batch: list[str | bytes]
) -> None:
    player = players[0]
    client = await WsClient.open(server.ws_url, player.token)
    try:
        for frame in batch:
            await client.send_raw(frame)
            reply = await next_reply(client)
            assert_documented_reply(reply)
            assert reply["re"] == expected_re(frame), (frame, reply)
        assert "pong" in await client.request("ping")  # still open and serving
    finally:
        await client.close()
    await assert_ledgers_add_up(redis, players)


def route_table() -> list[tuple[str, list[str]]]:
    table = []
    for route in [*api_routes, *admin_routes, *bet_routes, *crash_routes]:
        assert isinstance(route, Route)
        table.append((route.path, sorted(route.methods or ["GET"])))
    return table


ROUTES = route_table()
query_names = st.sampled_from(["limit", "before", "game", "hash", "user", "id"]) | st.text(
    max_size=6
)
query_values = st.sampled_from(["1", "50", "0", "-1", "²", "٣", "1e3", "9" * 30, "dice"]) | st.text(
    max_size=12
)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@st.composite
def http_requests(draw: st.DrawFn, players: list[Player]) -> dict[str, Any]:
    path, methods = draw(st.sampled_from(ROUTES))
    method = draw(st.sampled_from(methods) | st.sampled_from(METHODS))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        path = draw(st.sampled_from(["/", "/index.html", "/js/main.js", "/nope", "/api/"]))
    query = draw(st.dictionaries(query_names, query_values, max_size=3))
    user_ids = st.sampled_from([p.user_id for p in players] + [secrets.token_hex(8), "x"])
    body_fields = st.dictionaries(
        st.sampled_from(
            [*FIELDS, "user", "username", "password", "reason", "server_seed", "nonce"]
        ),
        field_values | user_ids,
        max_size=6,
    )
    body = draw(
        st.none()
        | body_fields.map(json.dumps)
        | json_values.map(json.dumps)
        | st.text(max_size=40)
        | st.binary(max_size=40)
    )
    headers: dict[str, str] = {}
    credential = draw(st.sampled_from([None, players[1].token, ADMIN_TOKEN, "not-a-token"]))
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    actor = draw(st.sampled_from([None, "fuzz", ""]) | st.text(max_size=8))
    if actor is not None and actor.isascii() and actor.isprintable():
        headers["X-Admin-Actor"] = actor
    content_type = draw(st.sampled_from([None, "application/json", "text/plain"]))
    if content_type is not None:
        headers["Content-Type"] = content_type
    origin = draw(st.sampled_from([None, "self", "https://evil.example"]))
    return {
        "method": method,
        "path": path,
        "params": query,
        "content": body,
        "headers": headers,
        "origin": origin,
    }


@FUZZ
@given(data=st.data())
async def test_every_http_answer_is_documented_and_never_a_500(
    server: ServerProcess, redis: Redis, players: list[Player], data: st.DataObject
) -> None:
    request = data.draw(http_requests(players))
    headers = request["headers"]
    if request["origin"] == "self":
        headers["Origin"] = server.base_url
    elif request["origin"] is not None:
        headers["Origin"] = request["origin"]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        response = await http.request(
            request["method"],
            request["path"],
            params=request["params"],
            content=request["content"],
            headers=headers,
        )
    assert response.status_code != 500, response.text
    if response.status_code >= 400 and request["method"] != "HEAD":
        assert response.headers["content-type"] == "application/json", response.text
        error = response.json()["error"]
        assert error["code"] in DOCUMENTED_ERRORS and error["message"], response.text
    await assert_ledgers_add_up(redis, players)
