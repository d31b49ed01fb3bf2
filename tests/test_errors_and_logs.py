"""Errors are the documented JSON, logs hold no secret and no storm, /readyz says why."""

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from starlette.types import Receive, Scope, Send

from server.embedded_redis import EmbeddedRedis
from server.errors import ErrorCode
from server.http_errors import CatchAll
from tests.servers import ServerProcess
from tests.wsclient import WsClient, new_guest


def assert_json_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.parametrize("limit", ["²", "٣", "¹⁰", "1²"])
async def test_unicode_digits_in_a_query_are_a_bad_request(
    server: ServerProcess, http: httpx.AsyncClient, limit: str
) -> None:
    token, _ = await new_guest(http, server.base_url)
    response = await http.get(
        f"{server.base_url}/api/transactions",
        params={"limit": limit},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_json_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    ("request_line", "status", "code"),
    [
        ("GET /api/no-such-route", 404, "NOT_FOUND"),
        ("GET /js/no-such-file.js", 404, "NOT_FOUND"),
        ("PUT /api/auth/login", 405, "METHOD_NOT_ALLOWED"),
        ("DELETE /api/wallet", 405, "METHOD_NOT_ALLOWED"),
    ],
)
async def test_framework_errors_are_json_errors(
    server: ServerProcess, http: httpx.AsyncClient, request_line: str, status: int, code: str
) -> None:
    method, path = request_line.split()
    response = await http.request(method, f"{server.base_url}{path}")
    assert_json_error(response, status, code)


async def test_an_exception_is_a_logged_internal_error_without_details(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken_route(scope: Scope, receive: Receive, send: Send) -> None:
        raise KeyError("secret detail")

    app = CatchAll(broken_route)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://croupier"
    ) as client:
        with caplog.at_level(logging.ERROR, logger="server.http_errors"):
            response = await client.get("/api/anything")
    assert_json_error(response, 500, ErrorCode.INTERNAL.value)
    assert "secret detail" not in response.text and "Traceback" not in response.text
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is KeyError


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    redis_server = EmbeddedRedis(tmp_path / "redis", "everysec")
    await redis_server.start()
    yield redis_server
    await redis_server.stop()


@pytest.mark.single_node("stops or reconfigures a redis-server of its own")
async def test_the_redis_password_is_never_logged(embedded: EmbeddedRedis, tmp_path: Path) -> None:
    password = f"pw-{secrets.token_hex(12)}"
    client = Redis.from_url(embedded.url)
    await client.config_set("requirepass", password)
    await client.aclose()
    scheme, rest = embedded.url.split("://", 1)
    url = f"{scheme}://:{password}@{rest}"
    server = await ServerProcess(tmp_path, REDIS_URL=url, CROUPIER_LOG_LEVEL="info").start()
    try:
        async with httpx.AsyncClient() as http:
            await new_guest(http, server.base_url)
            assert (await http.get(f"{server.base_url}/readyz")).status_code == 200
    finally:
        await server.stop()
    log = server.log_text()
    assert "croupier ready on redis" in log
    assert password not in log


def log_lines_since(server: ServerProcess, offset: int) -> list[str]:
    return server.log_text()[offset:].splitlines()


@pytest.mark.single_node("stops or reconfigures a redis-server of its own")
async def test_a_redis_outage_logs_a_few_lines_not_a_storm(
    embedded: EmbeddedRedis, tmp_path: Path
) -> None:
    server = await ServerProcess(
        tmp_path, REDIS_URL=embedded.url, CROUPIER_CRASH_ENABLED="false"
    ).start()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            token, _ = await new_guest(http, server.base_url)
            client = await WsClient.open(server.ws_url, token)
            before = len(server.log_text())
            replies: list[str] = []

            async def keep_asking() -> None:
                while True:
                    for op in ("wallet", "transactions", "bets"):
                        reply = await client.call(op)
                        replies.append("ok" if reply["ok"] else reply["error"]["code"])
                    await http.get(f"{server.base_url}/api/wallet", headers=bearer(token))
                    await asyncio.sleep(0.005)

            asker = asyncio.create_task(keep_asking())
            await asyncio.sleep(0.3)
            await embedded.stop()
            await asyncio.sleep(2)
            await embedded.start()
            async with asyncio.timeout(20):
                while (await http.get(f"{server.base_url}/readyz")).status_code != 200:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            asker.cancel()
            await asyncio.gather(asker, return_exceptions=True)
            await client.close()
        failed = replies.count(ErrorCode.INTERNAL.value)
        lines = log_lines_since(server, before)
        assert failed >= 100, "the outage did not fail many requests"
        assert len(lines) <= 20, "\n".join(lines)
    finally:
        await server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def readiness(http: httpx.AsyncClient, server: ServerProcess) -> tuple[int, dict[str, str]]:
    response = await http.get(f"{server.base_url}/readyz")
    body: dict[str, str] = response.json()
    return response.status_code, body


@pytest.mark.single_node("stops or reconfigures a redis-server of its own")
async def test_readyz_is_unready_with_a_reason_while_redis_refuses_writes(
    embedded: EmbeddedRedis, tmp_path: Path, http: httpx.AsyncClient
) -> None:
    server = await ServerProcess(tmp_path, REDIS_URL=embedded.url).start()
    admin = Redis.from_url(embedded.url)
    try:
        assert await readiness(http, server) == (200, {"ready": True, "journal_full": False})
        await admin.config_set("maxmemory-policy", "noeviction")
        await admin.config_set("maxmemory", "1")
        assert await readiness(http, server) == (503, {"ready": False, "reason": "REDIS_OOM"})
        await admin.config_set("maxmemory", "0")
        assert await readiness(http, server) == (200, {"ready": True, "journal_full": False})
        await admin.execute_command("REPLICAOF", "127.0.0.1", "1")  # a master that is not there
        assert await readiness(http, server) == (
            503,
            {"ready": False, "reason": "REDIS_READ_ONLY"},
        )
        await admin.execute_command("REPLICAOF", "NO", "ONE")
        assert await readiness(http, server) == (200, {"ready": True, "journal_full": False})
        await embedded.stop()
        status, body = await readiness(http, server)
        assert (status, body) == (503, {"ready": False, "reason": "REDIS_DOWN"})
    finally:
        await admin.aclose()
        await server.stop()
