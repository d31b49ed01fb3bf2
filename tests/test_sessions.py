"""Sessions and accounts under attack: revocation, login throttles, registration, admin."""

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError
from websockets.exceptions import ConnectionClosed

import server.auth
from server.auth import USERNAMES_KEY, Accounts
from server.config import Settings
from server.errors import CroupierError, ErrorCode
from server.realtime.sessions import CLOSE_SESSION_ENDED
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys, Wallet, WalletScripts
from server.wallet.journal import Journal
from tests.servers import ADMIN_TOKEN, ServerProcess, primaries, private_redis
from tests.wsclient import WsClient

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}
DICE = {"game": "dice", "amount": 100, "currency": "PLAY"}
DICE_PARAMS = {"target": 50.5, "condition": "over"}


def session_key(token: str) -> str:
    return "croupier:session:" + hashlib.sha256(token.encode()).hexdigest()


async def registered(
    http: httpx.AsyncClient, server: ServerProcess, sessions: int = 1
) -> tuple[str, list[str]]:
    """A new registered user (its name) and `sessions` tokens of it, each its own session."""
    name = f"u_{secrets.token_hex(6)}"
    body = {"username": name, "password": "correct horse"}
    response = await http.post(f"{server.base_url}/api/auth/register", json=body)
    assert response.status_code == 200, response.text
    tokens = [response.json()["token"]]
    for _ in range(sessions - 1):
        response = await http.post(f"{server.base_url}/api/auth/login", json=body)
        assert response.status_code == 200, response.text
        tokens.append(response.json()["token"])
    return name, tokens


async def bet(client: WsClient) -> dict[str, Any]:
    return await client.request("bet", **DICE, params=DICE_PARAMS, key=secrets.token_hex(8))


async def closed_with(client: WsClient, timeout: float = 5) -> int | None:
    """Wait until the server closes the socket; its close code."""
    async with asyncio.timeout(timeout):
        await client.connection.wait_closed()
    return client.connection.close_code


async def test_logout_closes_every_socket_of_that_session_on_every_instance(
    server: ServerProcess, server_b: ServerProcess, http: httpx.AsyncClient
) -> None:
    _, (revoked, kept) = await registered(http, server, sessions=2)
    tab_a = await WsClient.open(server.ws_url, revoked)
    tab_b = await WsClient.open(server_b.ws_url, revoked)
    tab_c = await WsClient.open(server.ws_url, kept)
    try:
        await bet(tab_a)
        await bet(tab_b)
        response = await http.post(
            f"{server.base_url}/api/auth/logout", headers={"Authorization": f"Bearer {revoked}"}
        )
        assert response.status_code == 200
        for tab in (tab_a, tab_b):
            assert await closed_with(tab) == CLOSE_SESSION_ENDED
            with pytest.raises(ConnectionClosed):
                await bet(tab)
        record = await bet(tab_c)  # the user's other session is untouched
        assert record["game"] == "dice"
    finally:
        for tab in (tab_a, tab_b, tab_c):
            await tab.close()


async def test_a_socket_is_closed_when_its_session_expires(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    _, (token,) = await registered(http, server)
    await redis.pexpire(session_key(token), 1_500)
    tab = await WsClient.open(server.ws_url, token)
    try:
        await bet(tab)
        assert await closed_with(tab, timeout=10) == CLOSE_SESSION_ENDED
    finally:
        await tab.close()


async def test_a_revocation_missed_while_pubsub_was_down_is_applied_on_reconnect(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis, redis_url: str
) -> None:
    _, (token,) = await registered(http, server)
    tab = await WsClient.open(server.ws_url, token)
    try:
        await redis.delete(session_key(token))  # gone without a revocation message
        async with primaries(redis_url) as nodes:
            for node in nodes:
                await node.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        assert await closed_with(tab, timeout=10) == CLOSE_SESSION_ENDED
    finally:
        await tab.close()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[str]:
    """A Redis of this test's own: login counters of other tests do not reach it."""
    async with private_redis(tmp_path / "redis") as url:
        yield url


@pytest.fixture
async def start_server(own_redis: str, log_dir: Path) -> AsyncIterator[Callable[..., Any]]:
    started: list[ServerProcess] = []

    async def start(**env: str) -> ServerProcess:
        process = await ServerProcess(log_dir, REDIS_URL=own_redis, **env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        await process.stop()


async def guest_statuses(
    http: httpx.AsyncClient, server: ServerProcess, forwarded_for: list[str]
) -> list[int]:
    return [
        (
            await http.post(
                f"{server.base_url}/api/auth/guest", headers={"X-Forwarded-For": address}
            )
        ).status_code
        for address in forwarded_for
    ]


async def test_rotating_x_forwarded_for_does_not_bypass_the_address_limit(
    start_server: Callable[..., Any], http: httpx.AsyncClient
) -> None:
    server = await start_server(CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE="3")
    statuses = await guest_statuses(http, server, [f"203.0.113.{n}" for n in range(6)])
    assert statuses == [200, 200, 200, 429, 429, 429]


async def test_x_forwarded_for_is_used_from_a_trusted_proxy(
    start_server: Callable[..., Any], http: httpx.AsyncClient
) -> None:
    server = await start_server(
        CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE="2", CROUPIER_TRUSTED_PROXIES='["127.0.0.1"]'
    )
    addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.1", "198.51.100.1"]
    assert await guest_statuses(http, server, addresses) == [200, 200, 200, 429]


async def test_an_account_is_throttled_after_failed_logins_even_with_the_right_password(
    start_server: Callable[..., Any], http: httpx.AsyncClient
) -> None:
    server = await start_server(
        CROUPIER_LOGIN_FAILURES_PER_ACCOUNT="5", CROUPIER_LOGIN_FAILURE_WINDOW_S="2"
    )
    name, _ = await registered(http, server)
    url = f"{server.base_url}/api/auth/login"
    right = {"username": name, "password": "correct horse"}
    for n in range(5):
        wrong = await http.post(url, json={"username": name, "password": f"guess {n:04}"})
        assert wrong.json()["error"]["code"] == "INVALID_CREDENTIALS"
    throttled = await http.post(url, json=right)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "RATE_LIMITED"
    # Spelled in another case, it is the same account.
    upper = await http.post(url, json={**right, "username": name.upper()})
    assert upper.json()["error"]["code"] == "RATE_LIMITED"
    await asyncio.sleep(2.2)  # the window passes
    assert (await http.post(url, json=right)).status_code == 200


@pytest.fixture
async def accounts(redis: Redis, runner: ScriptRunner) -> Accounts:
    settings = Settings()
    wallet = Wallet(redis, WalletScripts.register(runner), settings.idempotency_ttl_s)
    return Accounts(redis, wallet, settings, runner, Journal(redis, settings.journal_max))


async def test_unknown_and_known_users_cost_the_same_password_hashing(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"u_{secrets.token_hex(6)}"
    await accounts.register(name, "correct horse")
    calls: list[dict[str, Any]] = []
    real_scrypt = server.auth.hashlib.scrypt

    def counting_scrypt(password: bytes, **options: Any) -> bytes:
        calls.append({key: value for key, value in options.items() if key != "salt"})
        return real_scrypt(password, **options)

    monkeypatch.setattr(server.auth.hashlib, "scrypt", counting_scrypt)
    for username in (name, f"nobody_{secrets.token_hex(4)}"):
        with pytest.raises(CroupierError) as refused:
            await accounts.login(username, "wrong password")
        assert refused.value.code is ErrorCode.INVALID_CREDENTIALS
    known, unknown = calls
    assert known == unknown  # one scrypt each, with the same cost parameters


@pytest.fixture
async def write_limited_redis(redis: Redis, redis_url: str) -> AsyncIterator[Redis]:
    """A client whose user may write the usernames index and nothing under `{u:...}`:
    the account's own keys are refused by Redis itself."""
    user, password = f"limited_{secrets.token_hex(4)}", secrets.token_hex(16)
    await redis.execute_command(
        "ACL", "SETUSER", user, "on", f">{password}", f"~{USERNAMES_KEY}", "+@all"
    )
    client = Redis.from_url(redis_url, username=user, password=password, decode_responses=True)
    yield client
    await client.aclose()
    await redis.execute_command("ACL", "DELUSER", user)


@pytest.mark.single_node("an ACL user on the one redis-server")
async def test_a_registration_that_fails_halfway_leaves_the_name_free(
    accounts: Accounts, write_limited_redis: Redis, redis: Redis, runner: ScriptRunner
) -> None:
    settings = Settings()
    wallet = Wallet(write_limited_redis, WalletScripts.register(runner), 86_400 * 2)
    failing = Accounts(write_limited_redis, wallet, settings, runner, Journal(redis, 1))
    name = f"u_{secrets.token_hex(6)}"
    with pytest.raises(ResponseError):  # NOPERM: Redis refuses the account's keys
        await failing.register(name, "correct horse")
    assert not await redis.hexists(USERNAMES_KEY, name.lower())
    account, _ = await accounts.register(name, "correct horse")
    assert account.name == name


async def test_admin_credit_to_a_missing_user_is_not_found_and_creates_nothing(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis
) -> None:
    missing = secrets.token_hex(8)
    body = {"user": missing, "amount": 500, "currency": "PLAY", "key": "ghost", "reason": "test"}
    for kind in ("credit", "debit"):
        response = await http.post(f"{server.base_url}/api/admin/{kind}", json=body, headers=ADMIN)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "NOT_FOUND"
    keys = UserKeys(missing)
    assert not await redis.exists(keys.wallet, keys.ledger)
