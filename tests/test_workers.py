"""`croupier --workers N`: N processes on one port, one Crash leader, a dead worker replaced."""

import asyncio
import os
import secrets
import signal
from pathlib import Path

import httpx
from redis.asyncio import Redis

from server.audit import audit_user
from server.crash import keys as crash_keys
from server.redis_client import connect
from tests.servers import ServerProcess, private_redis
from tests.wsclient import WsClient, new_guest


def workers_of(parent: int) -> set[int]:
    """The worker processes of `parent` (its other children: embedded servers, the
    resource tracker of multiprocessing)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    workers = set()
    for pid in children:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.add(int(pid))
        except FileNotFoundError:
            pass  # ended meanwhile
    return workers


async def leader_pid(redis: Redis) -> int:
    """The pid in the Crash lease: `<fence>/<host>:<port>:<pid>:<random>`."""
    lease = await redis.get(crash_keys.LEASE)
    assert lease is not None
    return int(lease.partition("/")[2].split(":")[2])


async def bet(client: WsClient) -> dict[str, object]:
    return await client.request(
        "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
        params={"target": "50.50", "condition": "over"},
    )  # fmt: skip


async def test_two_workers_share_the_port_and_one_replaces_a_killed_leader(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        server = await ServerProcess(
            log_dir, REDIS_URL=url, CROUPIER_WORKERS="2", CROUPIER_CRASH_LEASE_MS="1500"
        ).start()
        try:
            async with asyncio.timeout(15):
                while len(workers_of(server.pid)) < 2:
                    await asyncio.sleep(0.1)
            workers = workers_of(server.pid)
            async with asyncio.timeout(15):
                while not await redis.exists(crash_keys.LEASE):
                    await asyncio.sleep(0.1)
            leader = await leader_pid(redis)
            assert leader in workers, "one of the workers leads the Crash rounds"
            # Sockets land on both workers (the kernel spreads the connections).
            token, user = await new_guest(http, server.base_url)
            tabs = [await WsClient.open(server.ws_url, token) for _ in range(8)]
            for tab in tabs:
                await bet(tab)
            os.kill(leader, signal.SIGKILL)
            async with asyncio.timeout(20):
                while True:  # the other worker takes the lease; the dead one is replaced
                    alive = workers_of(server.pid)
                    if (
                        len(alive) == 2
                        and leader not in alive
                        and await redis.exists(crash_keys.LEASE)
                    ):
                        new_leader = await leader_pid(redis)
                        if new_leader in alive:
                            break
                    await asyncio.sleep(0.1)
            for tab in tabs:
                await tab.close()
            again = await WsClient.open(server.ws_url, token)  # a tab reconnects
            placed = await bet(again)
            await again.close()
            audit = await audit_user(redis, user["id"])
            assert audit.ok and audit.open_bets == [], audit.problems
            assert audit.stored["PLAY"] == placed["balance"]
            assert workers_of(server.pid) & workers == workers - {leader}
        finally:
            await server.stop()
            await redis.aclose()
