"""The Crash round loop through faults of Redis and of the leader.

Each test runs its own redis-server and two real instances, places a bet with
an automatic cashout, does the fault to the real processes while the round
flies, then checks:
- the README's promise: a new round opens within PROMISE_S of the fault's end;
- every instance still leads when it has to: the leader is killed and the
  other one takes over and opens a round;
- the bet ended, cashed out and paid or voided and refunded, and the ledger
  replays to the balance.
"""

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from games.crash import RoundPhase
from server.audit import audit_user
from server.crash import keys
from server.crash.records import RoundState
from server.embedded_redis import EmbeddedRedis, running_redis_pid
from server.redis_client import connect
from tests.crash_chain import crafted_hashes, install_chain
from tests.servers import ServerProcess, node_serving, private_redis_process
from tests.wsclient import WsClient, new_guest

LEASE_S = 1.5
CRASHED_S = 0.3
TIMINGS = {
    "CROUPIER_CRASH_BETTING_MS": "800",
    "CROUPIER_CRASH_TICK_MS": "50",
    "CROUPIER_CRASH_CRASHED_MS": str(int(CRASHED_S * 1000)),
    "CROUPIER_CRASH_LEASE_MS": str(int(LEASE_S * 1000)),
}
PROMISE_S = 2 * LEASE_S + CRASHED_S + 1
"""README: a new round opens within 2 x lease + crashed time + 1 s of the fault's end."""
STALL_S = 2 * LEASE_S
"""How long a stopped process stays stopped: longer than the lease."""

HASHES = crafted_hashes(200, lambda k: (Decimal("1.20"), Decimal("1.30")), seed=3)
"""Every flight lasts 3.0 to 4.4 s."""
STAKE = 1000
AUTO = "1.15"
"""The bet's automatic cashout, reached 2.3 s into the flight."""
START = 100_000
TAKEOVER_S = 20.0
"""Bound on a takeover after the leader is killed, an adopted flight included."""


@dataclass
class Deployment:
    """A Redis of the test's own, a client on it and two instances."""

    url: str
    process: EmbeddedRedis | None
    """The one redis-server (None on a cluster)."""
    client: Redis
    servers: list[ServerProcess]

    @property
    def redis(self) -> EmbeddedRedis:
        assert self.process is not None, "a single_node test"
        return self.process

    @property
    def redis_pid(self) -> int:
        pid = running_redis_pid(self.redis.pidfile)
        assert pid is not None
        return pid

    async def leader(self) -> ServerProcess:
        """The instance holding the lease `<fence>/<host>:<port>:<pid>:<random>`."""
        lease = await self.client.get(keys.LEASE)
        port = int(lease.partition("/")[2].split(":")[1])
        return next(server for server in self.servers if server.port == port)

    async def poll(self, check: Callable[[RoundState], bool], timeout: float) -> RoundState:
        """The round once `check` passes (Redis errors while it recovers are retried)."""
        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(RedisError, OSError):
                    state = RoundState.from_hash(await self.client.hgetall(keys.ROUND))
                    if state is not None and check(state):
                        return state
                await asyncio.sleep(0.02)


@pytest.fixture
async def deployment(
    tmp_path_factory: pytest.TempPathFactory, log_dir: Path
) -> AsyncIterator[Deployment]:
    async with private_redis_process(tmp_path_factory.mktemp("faults")) as (url, process):
        assert process is None or url.startswith("unix://"), (
            "a restarted Redis must answer at the same address"
        )
        client = connect(url)
        await install_chain(client, HASHES)
        servers = [ServerProcess(log_dir, REDIS_URL=url, **TIMINGS) for _ in range(2)]
        try:
            await asyncio.gather(*(server.start() for server in servers))
            yield Deployment(url, process, client, servers)
        finally:
            await asyncio.gather(*(server.stop() for server in servers))
            await client.aclose()


@pytest.fixture
async def bettor(
    deployment: Deployment, http: httpx.AsyncClient
) -> AsyncIterator[tuple[str, WsClient]]:
    """A guest's id and socket, on the first instance."""
    server = deployment.servers[0]
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    yield user["id"], client
    await client.close()


async def bet_in_flight(deployment: Deployment, client: WsClient) -> int:
    """Bet with an automatic cashout in the next round; its id once it flies below the target."""

    def open_for_bets(state: RoundState) -> bool:
        return state.phase is RoundPhase.BETTING and state.betting_ends - time.time() * 1000 > 300

    opening = await deployment.poll(open_for_bets, timeout=15)
    await client.request(
        "crash.bet", amount=STAKE, currency="PLAY", auto_cashout=AUTO, key=f"bet-{opening.id}"
    )
    await deployment.poll(
        lambda s: s.id == opening.id and s.phase is RoundPhase.RUNNING and s.mult >= 103,
        timeout=5,
    )
    return opening.id


async def a_new_round_opens(deployment: Deployment, after: int) -> None:
    """The README's promise, counted from now: the end of the fault."""
    await deployment.poll(lambda s: s.id > after, timeout=PROMISE_S)


async def each_instance_still_leads(deployment: Deployment) -> ServerProcess:
    """Kill the leader: the other instance takes the round over and a new round opens;
    returns that other instance."""
    leader = await deployment.leader()
    (other,) = [server for server in deployment.servers if server is not leader]
    before = await deployment.poll(lambda s: True, timeout=5)
    await leader.stop(signal.SIGKILL)
    await deployment.poll(lambda s: s.fence > before.fence and s.id > before.id, TAKEOVER_S)
    assert await deployment.leader() is other
    return other


async def bet_ended(deployment: Deployment, user_id: str) -> None:
    """Cashed out at the target and paid, or voided and refunded; the ledger replays."""
    audit = await audit_user(deployment.client, user_id)
    assert audit.ok, audit.problems
    assert audit.open_bets == []
    assert audit.stored["PLAY"] in (START, START - STAKE + STAKE * Decimal(AUTO))


async def stall(send_signal: Callable[[int], None], seconds: float) -> None:
    """SIGSTOP a process for `seconds`, then SIGCONT it (also on failure)."""
    send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(seconds)
    finally:
        send_signal(signal.SIGCONT)


async def test_a_leader_stalled_past_its_lease_stands_by_and_campaigns_again(
    deployment: Deployment, bettor: tuple[str, WsClient]
) -> None:
    user_id, client = bettor
    round_id = await bet_in_flight(deployment, client)
    await stall((await deployment.leader()).send_signal, STALL_S)
    await a_new_round_opens(deployment, round_id)
    await bet_ended(deployment, user_id)
    await each_instance_still_leads(deployment)


@pytest.mark.single_node(
    "kills the redis-server, restarts it on its AOF (on a cluster: a failover)"
)
async def test_the_loop_survives_redis_killed_and_restarted(
    deployment: Deployment, bettor: tuple[str, WsClient], http: httpx.AsyncClient
) -> None:
    user_id, client = bettor
    round_id = await bet_in_flight(deployment, client)
    url = deployment.redis.url
    os.kill(deployment.redis_pid, signal.SIGKILL)
    await deployment.redis.stop()  # reaps it
    await asyncio.sleep(1)
    assert await deployment.redis.start() == url
    await a_new_round_opens(deployment, round_id)
    await bet_ended(deployment, user_id)
    survivor = await each_instance_still_leads(deployment)
    metrics = (await http.get(f"{survivor.base_url}/metrics")).text
    (restarts,) = [
        int(line.rpartition(" ")[2])
        for line in metrics.splitlines()
        if line.startswith('croupier_loop_restarts_total{loop="crash-rounds"} ')
    ]
    assert restarts > 0, "the attempts that failed while Redis was down are counted"


@pytest.mark.single_node("stops the redis-server (on a cluster, past the node timeout: a failover)")
async def test_the_loop_survives_redis_stalled_past_the_lease(
    deployment: Deployment, bettor: tuple[str, WsClient]
) -> None:
    user_id, client = bettor
    round_id = await bet_in_flight(deployment, client)
    pid = deployment.redis_pid
    await stall(lambda sig: os.kill(pid, sig), STALL_S)
    await a_new_round_opens(deployment, round_id)
    await bet_ended(deployment, user_id)
    await each_instance_still_leads(deployment)


async def test_the_loop_survives_redis_out_of_memory(
    deployment: Deployment, bettor: tuple[str, WsClient]
) -> None:
    user_id, client = bettor
    round_id = await bet_in_flight(deployment, client)
    async with node_serving(deployment.url, keys.ROUND) as redis:
        await redis.config_set("maxmemory-policy", "noeviction")
        await redis.config_set("maxmemory", "1")
        try:
            await asyncio.sleep(STALL_S)
        finally:
            await redis.config_set("maxmemory", "0")
    await a_new_round_opens(deployment, round_id)
    await bet_ended(deployment, user_id)
    await each_instance_still_leads(deployment)
