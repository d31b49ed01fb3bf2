"""A guest turns into a registered account over HTTP (`POST /api/auth/upgrade`)."""

import asyncio
import secrets
from typing import Any

import asyncpg
import httpx
import pytest

from tests.servers import ServerProcess
from tests.test_web_security import ATTACKS
from tests.wsclient import WsClient, new_guest

PASSWORD = "correct horse"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def fresh_name() -> str:
    return f"p_{secrets.token_hex(6)}"


async def upgrade(
    http: httpx.AsyncClient, server: ServerProcess, token: str, username: str
) -> httpx.Response:
    return await http.post(
        f"{server.base_url}/api/auth/upgrade",
        json={"username": username, "password": PASSWORD},
        headers=bearer(token),
    )


async def history(http: httpx.AsyncClient, server: ServerProcess, token: str) -> dict[str, Any]:
    """The account's wallet, ledger and bets as the API shows them."""
    parts = {}
    for name, path in (("wallet", "wallet"), ("ledger", "transactions"), ("bets", "bets")):
        response = await http.get(f"{server.base_url}/api/{path}", headers=bearer(token))
        assert response.status_code == 200
        parts[name] = response.json()
    return parts


async def test_an_upgraded_guest_keeps_its_id_balance_and_history(
    server: ServerProcess, http: httpx.AsyncClient, database_url: str
) -> None:
    token, guest = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        params = {"target": "50.50", "condition": "over"}
        await client.request("bet", game="dice", amount=250, currency="PLAY", params=params,
                             key=secrets.token_hex(8))  # fmt: skip
    finally:
        await client.close()
    before = await history(http, server, token)

    name = fresh_name()
    response = await upgrade(http, server, token, name)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": guest["id"], "name": name, "kind": "registered"}
    assert body["token"] != token and response.cookies.get("croupier_session") == body["token"]
    assert await history(http, server, body["token"]) == before  # same wallet, ledger, bets

    # The guest's session is replaced: its token is over, the new one and the password work.
    old = await http.get(f"{server.base_url}/api/me", headers=bearer(token))
    assert old.status_code == 401
    login = await http.post(
        f"{server.base_url}/api/auth/login", json={"username": name.upper(), "password": PASSWORD}
    )
    assert login.status_code == 200 and login.json()["user"]["id"] == guest["id"]

    # No second upgrade, whatever the name.
    again = await upgrade(http, server, login.json()["token"], fresh_name())
    assert again.status_code == 403 and again.json()["error"]["code"] == "FORBIDDEN"

    database = await asyncpg.connect(database_url)  # the archive learns the new name
    try:
        async with asyncio.timeout(10):
            while True:
                row = await database.fetchrow(
                    "SELECT name, kind, password_hash FROM users WHERE id = $1", guest["id"]
                )
                if row is not None and row["kind"] == "registered":
                    break
                await asyncio.sleep(0.1)
        assert row["name"] == name and row["password_hash"].startswith("scrypt$")
    finally:
        await database.close()


async def test_an_upgrade_is_refused_a_taken_name_a_bad_name_and_no_session(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    taken = fresh_name()
    registered = await http.post(
        f"{server.base_url}/api/auth/register", json={"username": taken, "password": PASSWORD}
    )
    assert registered.status_code == 200
    token, guest = await new_guest(http, server.base_url)

    refused = await upgrade(http, server, token, taken.upper())
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "USERNAME_TAKEN"
    bad = await upgrade(http, server, token, "no spaces")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "username"
    short = await http.post(
        f"{server.base_url}/api/auth/upgrade",
        json={"username": fresh_name(), "password": "short"},
        headers=bearer(token),
    )
    assert short.status_code == 400 and short.json()["error"]["field"] == "password"
    http.cookies.clear()  # no session cookie either
    anonymous = await http.post(
        f"{server.base_url}/api/auth/upgrade", json={"username": fresh_name(), "password": PASSWORD}
    )
    assert anonymous.status_code == 401
    me = await http.get(f"{server.base_url}/api/me", headers=bearer(token))
    assert me.json()["user"] == guest  # still the guest, its session untouched


async def test_two_racing_upgrades_of_one_guest_make_one_account(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    first, second = fresh_name(), fresh_name()
    replies = await asyncio.gather(
        upgrade(http, server, token, first), upgrade(http, server, token, second)
    )
    assert sorted(reply.status_code for reply in replies) in ([200, 401], [200, 403])
    winner = next(reply for reply in replies if reply.status_code == 200).json()["user"]["name"]
    loser = second if winner == first else first
    free = await http.post(
        f"{server.base_url}/api/auth/register", json={"username": loser, "password": PASSWORD}
    )
    assert free.status_code == 200, "the losing name was given back"


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_a_forged_upgrade_does_not_hand_a_guest_to_another_site(
    server: ServerProcess, http: httpx.AsyncClient, attack: str
) -> None:
    """Another site makes the guest's browser (its session cookie) choose the attacker's
    username and password: refused, and the attacker cannot sign in as the guest."""
    token, guest = await new_guest(http, server.base_url)
    headers, status, code = ATTACKS[attack]
    name = fresh_name()
    body = f'{{"username": "{name}", "password": "{PASSWORD}"}}'.encode()
    async with httpx.AsyncClient(
        base_url=server.base_url, cookies={"croupier_session": token}, timeout=30
    ) as browser:
        response = await browser.post("/api/auth/upgrade", content=body, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert (await browser.get("/api/me")).json()["user"] == guest
    login = await http.post(
        f"{server.base_url}/api/auth/login", json={"username": name, "password": PASSWORD}
    )
    assert login.status_code == 401
