"""The embedded PostgreSQL: started, reused after a crash of its owner, reachable under root."""

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.embedded_postgres import EmbeddedPostgres, reachable, running_postgres_pid
from server.embedded_redis import running_redis_pid
from tests.servers import ServerProcess
from tests.wsclient import new_guest


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every user may search (pytest's own are its user's only)."""
    directory = Path(tempfile.mkdtemp(prefix="croupier-test-pg-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


async def test_a_postgresql_left_by_a_killed_server_is_stopped_and_its_data_kept(
    open_dir: Path, redis_url: str, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """The default run: no DATABASE_URL. A server killed with SIGKILL leaves its
    PostgreSQL running; the next start on the data directory stops it and starts
    its own on the same data, the ledger archived before still there."""
    env = {"REDIS_URL": redis_url, "DATABASE_URL": None, "CROUPIER_DATA_DIR": str(open_dir)}
    first = await ServerProcess(log_dir, **env).start()
    _, user = await new_guest(http, first.base_url)
    pidfile = open_dir / "postgres" / "data" / "postmaster.pid"
    orphan = running_postgres_pid(pidfile)
    assert orphan is not None
    url = f"postgresql://postgres@/croupier?host={open_dir / 'postgres'}&port=5432"
    async with asyncio.timeout(10):
        while not await entries_of(url, user["id"]):
            await asyncio.sleep(0.1)
    await first.stop(signal.SIGKILL)
    assert running_postgres_pid(pidfile) == orphan, "killed with its server: nothing stops it"
    second = await ServerProcess(log_dir, **env).start()
    try:
        assert running_postgres_pid(pidfile) not in (None, orphan)
        assert await entries_of(url, user["id"]) == 1, "the sign-up credit, archived once"
    finally:
        await second.stop()
    assert running_postgres_pid(pidfile) is None, "stopped with its server"


async def entries_of(url: str, user_id: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM ledger_entries WHERE user_id = $1", user_id
        )
        return count
    finally:
        await connection.close()


def test_reachable_follows_the_search_permissions(open_dir: Path) -> None:
    nobody = 65534
    inner = open_dir / "a" / "b"
    inner.mkdir(parents=True)
    assert reachable(inner, nobody, nobody)
    (open_dir / "a").chmod(0o700)
    assert not reachable(inner, nobody, nobody)
    assert reachable(open_dir, nobody, nobody)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
async def test_under_root_a_data_directory_nobody_can_reach_moves_to_var_tmp(
    open_dir: Path,
) -> None:
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    embedded = EmbeddedPostgres(private / "data", fsync=False)
    assert embedded.directory.parent == Path("/var/tmp")
    try:
        url = await embedded.start()
        connection = await asyncpg.connect(url)
        assert await connection.fetchval("SELECT 1") == 1
        await connection.close()
    finally:
        await embedded.stop()
        shutil.rmtree(embedded.directory, ignore_errors=True)


async def test_a_start_that_fails_leaves_no_embedded_server_behind(
    open_dir: Path, log_dir: Path
) -> None:
    """The embedded Redis starts first; when the database then cannot be reached the
    server exits, and stops that Redis on its way out."""
    unreachable = "postgresql://postgres@127.0.0.1:1/croupier"
    server = ServerProcess(
        log_dir, REDIS_URL=None, DATABASE_URL=unreachable, CROUPIER_DATA_DIR=str(open_dir)
    )
    with pytest.raises(RuntimeError, match="server exited"):
        await server.start()
    assert running_redis_pid(open_dir / "redis.pid") is None
