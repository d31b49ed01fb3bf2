"""The back office's API against a real server: who may use it, balance adjustments and
their action log, user lookup and revoking a user's sessions."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from server.realtime.sessions import CLOSE_SESSION_ENDED
from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.wsclient import WsClient, new_guest

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "Ada Ops"}
EVIL = "https://evil.example"
READS = [
    "/api/admin/whoami",
    "/api/admin/live",
    "/api/admin/users?q=someone",
    "/api/admin/actions",
    "/api/admin/reports/profit",
    "/api/admin/reports/winners",
]
WRITES = ["/api/admin/credit", "/api/admin/debit", "/api/admin/sessions/revoke"]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def logged(database: asyncpg.Connection, user_id: str) -> list[dict[str, Any]]:
    rows = await database.fetch(
        "SELECT actor, action, details::text, reason FROM admin_actions"
        " WHERE target_user = $1 ORDER BY id",
        user_id,
    )
    return [dict(row) for row in rows]


async def play_money(http: httpx.AsyncClient, server: ServerProcess, token: str) -> int:
    response = await http.get(
        f"{server.base_url}/api/wallet", headers={"Authorization": f"Bearer {token}"}
    )
    balance: int = response.json()["balances"]["PLAY"]
    return balance


def gift(user_id: str, **change: Any) -> dict[str, Any]:
    body = {
        "user": user_id,
        "amount": 5_000,
        "currency": "PLAY",
        "key": secrets.token_hex(6),
        "reason": "goodwill after an outage",
    }
    return {**body, **change}


def forgeries(player_token: str) -> dict[str, dict[str, Any]]:
    """Requests that must not pass as the admin: headers, cookies and query of each."""
    return {
        "no token": {"headers": {"X-Admin-Actor": "x"}},
        "wrong token": {
            "headers": {"Authorization": "Bearer test-admin-tokeN", "X-Admin-Actor": "x"}
        },
        "token prefix": {"headers": {"Authorization": "Bearer test-admin", "X-Admin-Actor": "x"}},
        "player's session": {
            "headers": {"Authorization": f"Bearer {player_token}", "X-Admin-Actor": "x"}
        },
        "token in the query": {
            "headers": {"X-Admin-Actor": "x"},
            "params": {"token": ADMIN_TOKEN, "access_token": ADMIN_TOKEN},
        },
        "token in the session cookie": {
            "headers": {"X-Admin-Actor": "x"},
            "cookies": {"croupier_session": ADMIN_TOKEN},
        },
        "token as Basic": {"headers": {"Authorization": f"Basic {ADMIN_TOKEN}"}},
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "no token",
        "wrong token",
        "token prefix",
        "player's session",
        "token in the query",
        "token in the session cookie",
        "token as Basic",
    ],
)
async def test_without_the_admin_token_every_admin_route_is_forbidden(
    server: ServerProcess, http: httpx.AsyncClient, forgery: str
) -> None:
    token, user = await new_guest(http, server.base_url)
    request = forgeries(token)[forgery]
    async with httpx.AsyncClient(
        base_url=server.base_url, cookies=request.get("cookies"), timeout=30
    ) as client:
        for path in READS:
            response = await client.get(
                path, headers=request["headers"], params=request.get("params")
            )
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "FORBIDDEN"
        for path in WRITES:
            response = await client.post(
                path,
                json=gift(user["id"]),
                headers=request["headers"],
                params=request.get("params"),
            )
            assert response.status_code == 403, (path, response.text)
            assert response.json()["error"]["code"] == "FORBIDDEN"
    assert await play_money(http, server, token) == 100_000
    assert (
        await http.get(f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"})
    ).is_success


async def test_a_cross_site_post_with_the_token_is_refused(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    token, user = await new_guest(http, server.base_url)
    for headers in ({"Origin": EVIL}, {"Referer": f"{EVIL}/page"}, {"Origin": "null"}):
        for path in WRITES:
            response = await http.post(
                f"{server.base_url}{path}", json=gift(user["id"]), headers={**ADMIN, **headers}
            )
            assert response.status_code == 403 and response.json()["error"]["code"] == "FORBIDDEN"
    assert await play_money(http, server, token) == 100_000
    assert await logged(database, user["id"]) == []


@pytest.mark.parametrize("actor", [None, "", "x" * 41, "Robert'); DROP TABLE--"])
async def test_an_admin_without_a_proper_name_is_refused(
    server: ServerProcess, http: httpx.AsyncClient, actor: str | None
) -> None:
    token, user = await new_guest(http, server.base_url)
    headers = {"Authorization": ADMIN["Authorization"]}
    if actor is not None:
        headers["X-Admin-Actor"] = actor
    response = await http.post(
        f"{server.base_url}/api/admin/credit", json=gift(user["id"]), headers=headers
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"
    assert await play_money(http, server, token) == 100_000


async def test_whoami_names_the_admin_and_the_currencies(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{server.base_url}/api/admin/whoami", headers=ADMIN)
    assert response.json() == {"actor": "Ada Ops", "currencies": {"PLAY": 2, "BTC": 8}}


async def test_an_adjustment_writes_the_ledger_and_one_action_row_and_applies_once(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    token, user = await new_guest(http, server.base_url)
    body = gift(user["id"])
    first = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert first.status_code == 200 and first.json()["replayed"] is False
    tx = first.json()["tx"]
    assert (tx["type"], tx["amount"], tx["ref"]) == ("adjust", 5_000, "goodwill after an outage")
    retry = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert retry.json()["replayed"] is True and retry.json()["tx"]["id"] == tx["id"]
    assert await play_money(http, server, token) == 105_000

    ledger = await http.get(
        f"{server.base_url}/api/transactions", headers={"Authorization": f"Bearer {token}"}
    )
    adjustments = [entry for entry in ledger.json()["items"] if entry["type"] == "adjust"]
    assert [entry["amount"] for entry in adjustments] == [5_000]
    rows = await logged(database, user["id"])
    assert len(rows) == 1
    assert (rows[0]["actor"], rows[0]["action"], rows[0]["reason"]) == (
        "Ada Ops",
        "credit",
        "goodwill after an outage",
    )

    debit = gift(user["id"], amount=2_000, reason="chargeback")
    taken = await http.post(f"{server.base_url}/api/admin/debit", json=debit, headers=ADMIN)
    assert taken.json()["balance"] == 103_000
    assert [row["action"] for row in await logged(database, user["id"])] == ["credit", "debit"]


@pytest.mark.parametrize(
    "change",
    [
        {"reason": ""},
        {"reason": None},
        {"reason": "x" * 201},
        {"reason": "nul\u0000byte"},
        {"reason": "two\nlines"},
        {"reason": 5},
    ],
)
async def test_an_adjustment_needs_a_reason(
    server: ServerProcess,
    http: httpx.AsyncClient,
    database: asyncpg.Connection,
    change: dict[str, Any],
) -> None:
    token, user = await new_guest(http, server.base_url)
    body = {k: v for k, v in gift(user["id"], **change).items() if v is not None}
    response = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert response.status_code == 400 and response.json()["error"]["field"] == "reason"
    assert await play_money(http, server, token) == 100_000
    assert await logged(database, user["id"]) == []


async def test_a_refused_adjustment_is_not_logged(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    _, user = await new_guest(http, server.base_url)
    body = gift(user["id"], amount=10**6)
    response = await http.post(f"{server.base_url}/api/admin/debit", json=body, headers=ADMIN)
    assert response.json()["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert await logged(database, user["id"]) == []


async def test_lookup_by_id_or_username_shows_balances_ledger_bets_and_sessions(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    name = f"lookup_{secrets.token_hex(4)}"
    registered = await http.post(
        f"{server.base_url}/api/auth/register", json={"username": name, "password": "long enough"}
    )
    token, user = registered.json()["token"], registered.json()["user"]
    tab = await WsClient.open(server.ws_url, token)
    try:
        await tab.request(
            "bet", game="dice", amount=100, currency="PLAY", key="b1",
            params={"target": "50.50", "condition": "over"},
        )  # fmt: skip
    finally:
        await tab.close()
    for q in (user["id"], name.upper()):
        response = await http.get(
            f"{server.base_url}/api/admin/users", params={"q": q}, headers=ADMIN
        )
        assert response.status_code == 200
        found = response.json()
        assert found["user"]["id"] == user["id"] and found["user"]["kind"] == "registered"
        assert set(found["balances"]) == {"PLAY", "BTC"}
        assert [bet["game"] for bet in found["bets"]] == ["dice"]
        assert found["ledger"][-1]["type"] == "deposit"
        assert len(found["sessions"]) == 1
    missing = await http.get(
        f"{server.base_url}/api/admin/users", params={"q": "nobody_here"}, headers=ADMIN
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_revoking_sessions_closes_the_users_sockets_with_4001(
    server: ServerProcess,
    server_b: ServerProcess,
    http: httpx.AsyncClient,
    database: asyncpg.Connection,
) -> None:
    token, user = await new_guest(http, server.base_url)
    other_token, _ = await new_guest(http, server.base_url)
    tabs = [await WsClient.open(url, token) for url in (server.ws_url, server_b.ws_url)]
    bystander = await WsClient.open(server.ws_url, other_token)
    try:
        response = await http.post(
            f"{server.base_url}/api/admin/sessions/revoke",
            json={"user": user["id"], "reason": "account shared"},
            headers=ADMIN,
        )
        assert response.json() == {"revoked": 1}
        for tab in tabs:
            async with asyncio.timeout(5):
                await tab.connection.wait_closed()
            assert tab.connection.close_code == CLOSE_SESSION_ENDED
        me = await http.get(
            f"{server.base_url}/api/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status_code == 401
        assert (await bystander.request("ping")) is not None
        rows = await logged(database, user["id"])
        assert [(row["action"], row["reason"]) for row in rows] == [
            ("revoke_sessions", "account shared")
        ]
    finally:
        for tab in [*tabs, bystander]:
            await tab.close()


async def test_the_action_log_lists_newest_first(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    _, user = await new_guest(http, server.base_url)
    for reason in ("first", "second"):
        await http.post(
            f"{server.base_url}/api/admin/credit",
            json=gift(user["id"], reason=reason),
            headers=ADMIN,
        )
    page = await http.get(
        f"{server.base_url}/api/admin/actions", params={"limit": "2"}, headers=ADMIN
    )
    items = page.json()["items"]
    assert [(item["reason"], item["target_user"]) for item in items] == [
        ("second", user["id"]),
        ("first", user["id"]),
    ]
    assert items[0]["details"]["amount"] == 5_000 and items[0]["actor"] == "Ada Ops"
    assert page.json()["next_before"] == items[1]["id"]


async def test_a_retry_logs_an_adjustment_whose_log_row_was_lost(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    """The money moved but the process died before the log row: the retry writes it."""
    token, user = await new_guest(http, server.base_url)
    body = gift(user["id"])
    await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    await database.execute("DELETE FROM admin_actions WHERE target_user = $1", user["id"])
    retry = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert retry.json()["replayed"] is True
    assert [row["action"] for row in await logged(database, user["id"])] == ["credit"]
    assert await play_money(http, server, token) == 105_000


async def register(http: httpx.AsyncClient, server: ServerProcess) -> tuple[str, dict[str, Any]]:
    name = f"staff_{secrets.token_hex(4)}"
    reply = await http.post(
        f"{server.base_url}/api/auth/register", json={"username": name, "password": "long enough"}
    )
    return reply.json()["token"], reply.json()["user"]


async def test_an_admin_account_uses_the_back_office_under_its_own_name(
    server: ServerProcess,
    redis_url: str,
    log_dir: Path,
    http: httpx.AsyncClient,
    database: asyncpg.Connection,
) -> None:
    """A registered account whose id is in CROUPIER_ADMIN_USERS signs in with its
    password; its session token is its admin credential and its username the name on
    every action, whatever X-Admin-Actor claims. Anyone else's session, a listed
    guest's, or the admin's own token in a cookie, gets FORBIDDEN."""
    _, boss = await register(http, server)
    _, staff = await register(http, server)
    guest_token, guest = await new_guest(http, server.base_url)
    admins = json.dumps([boss["id"], guest["id"]])
    site = await ServerProcess(log_dir, REDIS_URL=redis_url, CROUPIER_ADMIN_USERS=admins).start()
    try:
        login = await http.post(
            f"{site.base_url}/api/auth/login",
            json={"username": boss["name"], "password": "long enough"},
        )
        boss_token = login.json()["token"]
        as_boss = {"Authorization": f"Bearer {boss_token}", "X-Admin-Actor": "Ada Ops"}
        who = await http.get(f"{site.base_url}/api/admin/whoami", headers=as_boss)
        assert who.status_code == 200 and who.json()["actor"] == boss["name"]
        credit = await http.post(
            f"{site.base_url}/api/admin/credit", json=gift(staff["id"]), headers=as_boss
        )
        assert credit.status_code == 200
        assert [row["actor"] for row in await logged(database, staff["id"])] == [boss["name"]]

        staff_token = (
            await http.post(
                f"{site.base_url}/api/auth/login",
                json={"username": staff["name"], "password": "long enough"},
            )
        ).json()["token"]
        refused = [
            {"headers": {"Authorization": f"Bearer {staff_token}"}},
            {"headers": {"Authorization": f"Bearer {guest_token}"}},
            {"cookies": {"croupier_session": boss_token}},
        ]
        for request in refused:
            headers = request.get("headers")
            async with httpx.AsyncClient(
                base_url=site.base_url, cookies=request.get("cookies"), timeout=30
            ) as client:
                for path in ("/api/admin/whoami", "/api/admin/users?q=x"):
                    response = await client.get(path, headers=headers)
                    assert response.status_code == 403, (request, path)
                response = await client.post(
                    "/api/admin/credit", json=gift(staff["id"]), headers=headers
                )
                assert response.status_code == 403

        await http.post(f"{site.base_url}/api/auth/logout", headers=as_boss)
        after = await http.get(f"{site.base_url}/api/admin/whoami", headers=as_boss)
        assert after.status_code == 403
    finally:
        await site.stop()
    assert [row["action"] for row in await logged(database, staff["id"])] == ["credit"]


async def test_lookups_are_logged_and_find_a_guest_by_name(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    _, guest = await new_guest(http, server.base_url)
    async with asyncio.timeout(30):  # the account reaches PostgreSQL through the archiver
        while not await database.fetchval("SELECT 1 FROM users WHERE id = $1", guest["id"]):
            await asyncio.sleep(0.1)
    url = f"{server.base_url}/api/admin/users"
    found = await http.get(url, params={"q": guest["name"].upper()}, headers=ADMIN)
    assert found.status_code == 200 and found.json()["user"]["id"] == guest["id"]
    rows = await logged(database, guest["id"])
    assert [(row["actor"], row["action"], row["reason"]) for row in rows] == [
        ("Ada Ops", "lookup", "")
    ]
    assert json.loads(rows[0]["details"]) == {"q": guest["name"].upper(), "found": True}

    probe = f"nobody_{secrets.token_hex(4)}"
    missing = await http.get(url, params={"q": probe}, headers=ADMIN)
    assert missing.status_code == 404
    unmatched = await database.fetch(
        "SELECT actor FROM admin_actions WHERE action = 'lookup' AND target_user IS NULL"
        " AND details->>'q' = $1",
        probe,
    )
    assert [row["actor"] for row in unmatched] == ["Ada Ops"]


async def test_a_guest_name_two_guests_share_asks_for_an_id(
    server: ServerProcess, http: httpx.AsyncClient, database: asyncpg.Connection
) -> None:
    """Guest names are `guest-` and six digits of the id: they can repeat."""
    name = f"guest-{secrets.token_hex(2)}zz"  # never a real guest's (not hex)
    ids = [secrets.token_hex(8) for _ in range(2)]
    for user_id in ids:
        await database.execute(
            "INSERT INTO users (id, name, kind, created_at) VALUES ($1, $2, 'guest', 0)",
            user_id,
            name,
        )
    try:
        response = await http.get(
            f"{server.base_url}/api/admin/users", params={"q": name}, headers=ADMIN
        )
        error = response.json()["error"]
        assert response.status_code == 400 and error["field"] == "q"
        assert all(user_id in error["message"] for user_id in ids)
    finally:
        await database.execute("DELETE FROM users WHERE id = ANY($1::text[])", ids)
