"""`croupier --workers N`: N processes on one port, one Crash leader, a dead worker replaced."""

import asyncio
import os
import secrets
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from server.audit import audit_user
from server.crash import keys as crash_keys
from server.redis_client import connect
from tests.crash_chain import crafted_hashes, install_chain
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


async def bet(client: WsClient, key: str | None = None) -> dict[str, Any]:
    return await client.request(
        "bet", game="dice", amount=10, currency="PLAY", key=key or secrets.token_hex(8),
        params={"target": "50.50", "condition": "over"},
    )  # fmt: skip


def worker_of(client: WsClient, workers: set[int]) -> int:
    """The worker holding the server end of a client's TCP connection."""
    port = client.connection.transport.get_extra_info("sockname")[1]
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].split(":")[1], 16) == port:  # the peer's (client's) port
            inodes.add(f"socket:[{fields[9]}]")
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except FileNotFoundError:
                pass  # closed meanwhile
    raise LookupError(f"no worker holds the connection from port {port}")


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


async def test_a_worker_killed_under_load_loses_no_bet(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """Eight tabs of one user bet without pause on two workers; one worker is killed -9.
    Its tabs reconnect (to the other) and retry the bet in flight with its key: every
    key is played once, the ledger is exact, no nonce is used twice or skipped."""
    tabs_count, bets_per_tab = 8, 30
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        server = await ServerProcess(log_dir, REDIS_URL=url, CROUPIER_WORKERS="2").start()
        try:
            async with asyncio.timeout(15):
                while len(workers_of(server.pid)) < 2:
                    await asyncio.sleep(0.1)
            workers = workers_of(server.pid)
            token, user = await new_guest(http, server.base_url)
            tabs = [await WsClient.open(server.ws_url, token) for _ in range(tabs_count)]
            placed = 0
            under_way = asyncio.Event()
            replies: dict[str, dict[str, Any]] = {}
            reconnected: set[int] = set()

            async def bettor(index: int) -> None:
                nonlocal placed
                for n in range(bets_per_tab):
                    key = f"tab{index}-{n}"
                    while key not in replies:
                        call = asyncio.ensure_future(bet(tabs[index], key))
                        await asyncio.wait(
                            {call, tabs[index].reading}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if call.done() and not isinstance(call.exception(), ConnectionClosed):
                            replies[key] = call.result()  # an error reply fails the test
                            continue
                        call.cancel()  # the worker died: reconnect, retry the same key
                        reconnected.add(index)
                        tabs[index] = await WsClient.open(server.ws_url, token)
                    placed += 1
                    if placed == tabs_count * bets_per_tab // 3:
                        under_way.set()

            holders = {index: worker_of(tab, workers) for index, tab in enumerate(tabs)}
            victim = max(workers, key=list(holders.values()).count)
            betting = asyncio.gather(*(bettor(index) for index in range(tabs_count)))
            await under_way.wait()
            os.kill(victim, signal.SIGKILL)
            async with asyncio.timeout(60):
                await betting
            for tab in tabs:
                await tab.close()
            assert reconnected == {i for i, pid in holders.items() if pid == victim}
            assert len(replies) == tabs_count * bets_per_tab
            audit = await audit_user(redis, user["id"])
            assert audit.ok and audit.open_bets == [], audit.problems
            won = sum(reply["payout"] - reply["amount"] for reply in replies.values())
            assert audit.stored["PLAY"] == 100_000 + won
            nonces = sorted(reply["nonce"] for reply in replies.values())
            assert nonces == list(range(len(replies))), "each bet its own nonce, none skipped"
        finally:
            await server.stop()
            await redis.aclose()


async def test_two_workers_never_both_lead_crash(tmp_path: Path, log_dir: Path) -> None:
    """Sockets on both workers see one leader and each tick once, in order: had both
    workers run the rounds, every socket would get two streams of ticks."""
    short_rounds = crafted_hashes(50, lambda k: (Decimal("1.10"), Decimal("1.20")), seed=3)
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        await install_chain(redis, short_rounds)
        server = await ServerProcess(
            log_dir, REDIS_URL=url, CROUPIER_WORKERS="2", CROUPIER_CRASH_BETTING_MS="500",
            CROUPIER_CRASH_TICK_MS="50", CROUPIER_CRASH_CRASHED_MS="200",
        ).start()  # fmt: skip
        watchers: list[WsClient] = []
        try:
            async with asyncio.timeout(15):
                while len(workers_of(server.pid)) < 2:
                    await asyncio.sleep(0.1)
            workers = workers_of(server.pid)
            held: set[int] = set()
            while held != workers:  # until each worker holds a watcher
                assert len(watchers) < 100, "every socket went to the same worker"
                watchers.append(await WsClient.open(server.ws_url))
                held.add(worker_of(watchers[-1], workers))
            streams = []
            for watcher in watchers:  # each sees three whole rounds
                first = (await watcher.next_event("crash.crashed", 30))["data"]["round_id"]
                stream = []
                async with asyncio.timeout(30):
                    while not (
                        stream
                        and stream[-1]["event"] == "crash.crashed"
                        and stream[-1]["data"]["round_id"] == first + 3
                    ):
                        stream.append(await watcher.events.get())
                streams.append(stream)
        finally:
            for watcher in watchers:
                await watcher.close()
            await server.stop()
            await redis.aclose()
    leaders = {e["data"]["leader"] for s in streams for e in s if e["event"] == "crash.state"}
    assert len(leaders) == 1, leaders
    for stream in streams:
        ticks = [
            (e["data"]["round_id"], e["data"]["elapsed_ms"])
            for e in stream
            if e["event"] == "crash.tick"
        ]
        assert ticks == sorted(set(ticks)), "each tick once, in order"
        crashed = [e["data"]["round_id"] for e in stream if e["event"] == "crash.crashed"]
        assert crashed == [crashed[0], crashed[0] + 1, crashed[0] + 2]
