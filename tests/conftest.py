"""Fixtures: a private Redis and real Croupier server processes.

Nothing here touches a Redis or a PostgreSQL the tests did not start: the
session starts its own redis-server (or, with CROUPIER_TEST_REDIS=cluster, its
own Redis Cluster) and PostgreSQL on temporary directories. A test marked
`single_node(reason)` needs one redis-server and is skipped on a cluster.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.redis_scripts import ScriptRunner
from tests.servers import ON_CLUSTER, ServerProcess, private_postgres, private_redis


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On a cluster, skip the tests marked single_node, with their reason."""
    if not ON_CLUSTER:
        return
    for item in items:
        marker = item.get_closest_marker("single_node")
        if marker is not None:
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
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
