"""Fixtures: a private Redis and real Croupier server processes.

Nothing here touches a Redis or a PostgreSQL the tests did not start: the
session starts its own redis-server (or, with CROUPIER_TEST_REDIS=cluster, its
own Redis Cluster) and PostgreSQL on temporary directories. A test marked
`single_node(reason)` needs one redis-server and is skipped on a cluster.
"""

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.redis_scripts import ScriptRunner
from tests.cluster import Cluster, running_cluster
from tests.servers import ON_CLUSTER, ServerProcess, private_postgres, private_redis

CLUSTER_SUITE = frozenset(
    {
        "test_wallet.py",
        "test_bets.py",
        "test_stepped_games.py",
        "test_crash.py",
        "test_crash_faults.py",
        "test_multi_instance.py",
        "test_ws_protocol.py",
        "test_history_window.py",
        "test_loadtest.py",
    }
)
"""The files of `-m cluster_suite`, run again on a cluster by CI: the wallet, bets, step
games, Crash and its faults, two instances, the WebSocket protocol, the history window and the
load test. The archive and the sweeps pass on a cluster too (test_archive.py, test_sweeps.py;
test_cluster.py runs the archiver over every slot): left out to keep CI within its time."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of CLUSTER_SUITE; on a cluster, skip those marked single_node."""
    for item in items:
        if item.path.name in CLUSTER_SUITE:
            item.add_marker(pytest.mark.cluster_suite)
        marker = item.get_closest_marker("single_node")
        if ON_CLUSTER and marker is not None:
            reason = f"one redis-server only: {marker.args[0]}"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session", autouse=True)
async def database_url() -> AsyncIterator[str]:
    """A PostgreSQL of the test run's own, given to every server it starts (DATABASE_URL)."""
    async with private_postgres() as postgres:
        previous = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = postgres.url
        yield postgres.url
        if previous is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = previous


@pytest.fixture(scope="session")
async def redis_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def runner(redis_url: str) -> AsyncIterator[ScriptRunner]:
    runner = script_runner(redis_url)
    yield runner
    await runner.aclose()


@pytest.fixture(scope="session")
async def server(redis_url: str, log_dir: Path) -> AsyncIterator[ServerProcess]:
    process = await ServerProcess(log_dir, REDIS_URL=redis_url).start()
    yield process
    await process.stop()


@pytest.fixture(scope="session")
async def server_b(redis_url: str, log_dir: Path) -> AsyncIterator[ServerProcess]:
    """A second instance on the same Redis."""
    process = await ServerProcess(log_dir, REDIS_URL=redis_url).start()
    yield process
    await process.stop()


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A Redis Cluster of the test's own (3 primaries, 3 replicas), for tests that kill its
    nodes: in either mode."""
    with running_cluster(tmp_path / "cluster") as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
