"""The HTTP API against a real server: accounts, wallet, admin, health."""

from typing import Any

import httpx
import pytest

from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.wsclient import new_guest

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def balances(http: httpx.AsyncClient, server: ServerProcess, token: str) -> dict[str, int]:
    response = await http.get(f"{server.base_url}/api/wallet", headers=bearer(token))
    assert response.status_code == 200
    result: dict[str, int] = response.json()["balances"]
    return result


async def test_guest_gets_a_session_and_the_starting_balance(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    response = await http.post(f"{server.base_url}/api/auth/guest")
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["kind"] == "guest"
    assert "croupier_session" in response.cookies
    me = await http.get(f"{server.base_url}/api/me", headers=bearer(body["token"]))
    assert me.json() == {"user": body["user"]}
    assert await balances(http, server, body["token"]) == {"PLAY": 100_000, "BTC": 0}


async def test_register_login_logout(server: ServerProcess, http: httpx.AsyncClient) -> None:
    name = f"player_{id(http) % 100_000}"
    credentials = {"username": name, "password": "correct horse"}
    registered = await http.post(f"{server.base_url}/api/auth/register", json=credentials)
    assert registered.status_code == 200
    user = registered.json()["user"]
    assert user["kind"] == "registered" and user["name"] == name

    taken = await http.post(
        f"{server.base_url}/api/auth/register",
        json={"username": name.upper(), "password": "another one"},
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "USERNAME_TAKEN"

    wrong = await http.post(
        f"{server.base_url}/api/auth/login", json={"username": name, "password": "wrong pass"}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"

    login = await http.post(f"{server.base_url}/api/auth/login", json=credentials)
    assert login.status_code == 200 and login.json()["user"] == user
    token = login.json()["token"]
    assert (await http.post(f"{server.base_url}/api/auth/logout", headers=bearer(token))).is_success
    me = await http.get(f"{server.base_url}/api/me", headers=bearer(token))
    assert me.status_code == 401 and me.json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "password": "long enough"},
        {"username": "bad name!", "password": "long enough"},
        {"username": "someone", "password": "short"},
        {"username": "someone", "password": 12345678},
        {"username": "someone", "password": "long enough", "admin": True},
    ],
)
async def test_bad_registrations_are_refused(
    server: ServerProcess, http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await http.post(f"{server.base_url}/api/auth/register", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"


async def test_malformed_body_is_bad_json(server: ServerProcess, http: httpx.AsyncClient) -> None:
    response = await http.post(
        f"{server.base_url}/api/auth/login",
        content=b"{oops",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_JSON"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}]
)
async def test_endpoints_need_a_valid_session(
    server: ServerProcess, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/api/me", "/api/wallet", "/api/transactions"):
        response = await http.get(f"{server.base_url}{path}", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"


async def test_user_ids_from_the_client_are_ignored(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    alice, _ = await new_guest(http, server.base_url)
    _, bob = await new_guest(http, server.base_url)
    page = await http.get(
        f"{server.base_url}/api/transactions", params={"user": bob["id"]}, headers=bearer(alice)
    )
    assert page.status_code == 400  # unknown parameter, never another user's ledger
    own = await http.get(f"{server.base_url}/api/transactions", headers=bearer(alice))
    assert all(entry["user"] != bob["id"] for entry in own.json()["items"])


async def test_faucet_pays_once_per_interval(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, _ = await new_guest(http, server.base_url)
    first = await http.post(f"{server.base_url}/api/wallet/faucet", headers=bearer(token))
    second = await http.post(f"{server.base_url}/api/wallet/faucet", headers=bearer(token))
    assert first.status_code == 200 and first.json()["balance"] == 200_000
    assert second.status_code == 429 and second.json()["error"]["code"] == "RATE_LIMITED"
    assert await balances(http, server, token) == {"PLAY": 200_000, "BTC": 0}


async def test_admin_adjustments(server: ServerProcess, http: httpx.AsyncClient) -> None:
    token, user = await new_guest(http, server.base_url)
    body = {
        "user": user["id"],
        "amount": 150_000_000,
        "currency": "BTC",
        "key": "gift-1",
        "reason": "welcome",
    }
    refused = await http.post(
        f"{server.base_url}/api/admin/credit", json=body, headers=bearer(token)
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"

    credit = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert credit.status_code == 200
    assert credit.json()["tx"]["type"] == "adjust" and credit.json()["balance"] == 150_000_000
    replay = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert replay.json()["replayed"] is True

    debit = {**body, "amount": 50_000_000, "key": "fee-1"}
    response = await http.post(f"{server.base_url}/api/admin/debit", json=debit, headers=ADMIN)
    assert response.json()["balance"] == 100_000_000
    page = await http.get(
        f"{server.base_url}/api/transactions", params={"limit": "2"}, headers=bearer(token)
    )
    assert [entry["amount"] for entry in page.json()["items"]] == [-50_000_000, 150_000_000]
    assert page.json()["next_before"] == 2


BAD_ADJUSTMENTS = [
    ({"amount": 0}, 400, "INVALID_AMOUNT"),
    ({"amount": -5}, 400, "INVALID_AMOUNT"),
    ({"amount": 1.5}, 400, "INVALID_AMOUNT"),
    ({"amount": "100"}, 400, "INVALID_AMOUNT"),
    ({"amount": True}, 400, "INVALID_AMOUNT"),
    ({"amount": 2**53}, 400, "INVALID_AMOUNT"),
    ({"amount": 10**30}, 400, "INVALID_AMOUNT"),
    ({"currency": "DOGE"}, 400, "UNKNOWN_CURRENCY"),
    ({"currency": 7}, 400, "BAD_REQUEST"),
    ({"key": ""}, 400, "BAD_REQUEST"),
    ({"key": "has spaces"}, 400, "BAD_REQUEST"),
    ({"user": "../../etc"}, 400, "BAD_REQUEST"),
    ({"amount": 10**6}, 409, "INSUFFICIENT_FUNDS"),
    ({"key": "used-before", "amount": 999}, 409, "IDEMPOTENCY_CONFLICT"),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_ADJUSTMENTS)
async def test_bad_admin_debits_change_nothing(
    server: ServerProcess,
    http: httpx.AsyncClient,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    token, user = await new_guest(http, server.base_url)
    base = {
        "user": user["id"],
        "amount": 1_000,
        "currency": "PLAY",
        "key": "used-before",
        "reason": "fee",
    }
    assert (
        await http.post(f"{server.base_url}/api/admin/debit", json=base, headers=ADMIN)
    ).is_success
    body = {**base, "key": "fresh", **change}
    response = await http.post(f"{server.base_url}/api/admin/debit", json=body, headers=ADMIN)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert await balances(http, server, token) == {"PLAY": 99_000, "BTC": 0}


async def test_credit_beyond_the_largest_balance_is_refused(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    token, user = await new_guest(http, server.base_url)
    body = {
        "user": user["id"],
        "amount": 2**53 - 1,
        "currency": "PLAY",
        "key": "huge",
        "reason": "test",
    }
    response = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert response.status_code == 409 and response.json()["error"]["code"] == "LIMIT_EXCEEDED"
    assert await balances(http, server, token) == {"PLAY": 100_000, "BTC": 0}


async def test_health_readiness_and_metrics(server: ServerProcess, http: httpx.AsyncClient) -> None:
    assert (await http.get(f"{server.base_url}/healthz")).json() == {"ok": True}
    assert (await http.get(f"{server.base_url}/readyz")).json() == {
        "ready": True,
        "journal_full": False,
    }
    metrics = (await http.get(f"{server.base_url}/metrics")).text
    assert "# TYPE croupier_ws_connections gauge" in metrics
    assert "croupier_ws_requests_total" in metrics
    assert f"croupier_process_id {server.pid}\n" in metrics
    for generation in range(3):  # the server times its collections
        assert f'croupier_gc_pause_seconds_count{{generation="{generation}"}} ' in metrics
        assert f'croupier_gc_pause_max_seconds{{generation="{generation}"}} ' in metrics
