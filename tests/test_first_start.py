"""What an operator reads in the log of a deployment's first start."""

from pathlib import Path

import httpx

from tests.servers import ServerProcess, private_redis


async def test_the_new_crash_chain_is_announced_as_information_with_what_to_publish(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    async with private_redis(tmp_path / "redis") as url:
        server = await ServerProcess(log_dir, REDIS_URL=url, CROUPIER_LOG_LEVEL="info").start()
        try:
            chain = (await http.get(f"{server.base_url}/api/crash/chain")).json()
        finally:
            await server.stop()
    lines = [line for line in server.log_text().splitlines() if "server.crash.chain_store" in line]
    [line] = [line for line in lines if chain["terminating_hash"] in line]
    assert " INFO server.crash.chain_store: " in line
    assert "publish its terminating hash" in line and "/api/crash/chain" in line
    assert not [line for line in lines if " WARNING " in line]
