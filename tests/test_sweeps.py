"""The expiry sweep reads the per-slot games-due indexes, never the whole keyspace,
and one instance of a deployment sweeps per interval."""

import asyncio
import json
from collections import Counter
from pathlib import Path

import httpx

from server.redis_client import connect
from server.slots import SLOTS, key_slot, slot_key
from server.stepped.service import due_member
from server.wallet import UserKeys
from server.wallet.keys import GAMES_DUE
from tests.servers import ServerProcess, primaries, private_redis
from tests.wsclient import WsClient, new_guest

STEP_OPEN = Path(__file__).parent.parent / "server" / "stepped" / "step_open.lua"
OPEN_BET_HELPERS = STEP_OPEN.parent.parent / "bets" / "_open_bet.lua"


def test_every_slot_has_its_own_index_key() -> None:
    keys = {slot_key(slot, GAMES_DUE) for slot in range(SLOTS)}
    assert len(keys) == SLOTS
    assert all(key_slot(slot_key(slot, GAMES_DUE)) == slot for slot in range(0, SLOTS, 97))
    user = UserKeys("0123456789abcdef")
    assert key_slot(user.games_due) == key_slot(user.wallet)


async def reset_stats(url: str) -> None:
    """CONFIG RESETSTAT on every primary."""
    async with primaries(url) as nodes:
        for node in nodes:
            await node.config_resetstat()


async def command_calls(url: str) -> Counter[str]:
    """Calls of each command, summed over every primary."""
    calls: Counter[str] = Counter()
    async with primaries(url) as nodes:
        for node in nodes:
            stats = await node.info("commandstats")
            for name, row in stats.items():
                calls[name.removeprefix("cmdstat_")] += int(row["calls"])
    return calls


async def idle_calls(log_dir: Path, url: str, watch_s: float, **env: str) -> Counter[str]:
    """Redis command calls of two idle instances over 50,000 keys, watched `watch_s`
    from one second after they started."""
    redis = connect(url)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(50_000):
                pipe.hset(f"{{u:{n:016x}}}:ledger", "1", "{}")
                pipe.hset(f"{{u:{n:016x}}}:games", "other", "{}")
            await pipe.execute()
        instances = [
            await ServerProcess(log_dir, REDIS_URL=url, **env).start(),
            await ServerProcess(log_dir, REDIS_URL=url, **env).start(),
        ]
        try:
            await asyncio.sleep(1)  # past the start-up upgrade check
            await reset_stats(url)
            await asyncio.sleep(watch_s)
            return await command_calls(url)
        finally:
            for instance in instances:
                await instance.stop()
    finally:
        await redis.aclose()


async def test_full_sweeps_never_scan_and_one_instance_sweeps_per_interval(
    tmp_path: Path, log_dir: Path
) -> None:
    """Full sweeps read each slot's index once (16,384 reads), whatever the number of
    keys, and one instance of the deployment runs one per interval."""
    async with private_redis(tmp_path / "redis") as url:
        calls = await idle_calls(log_dir, url, 6.5, CROUPIER_SWEEP_FULL_PASS_S="2")
    assert "scan" not in calls, calls
    # Whole sweeps: the Crash round's ticks read their cashout index with ZRANGEBYSCORE too,
    # a few dozen reads, far below one sweep's 16,384.
    sweeps = calls.get("zrangebyscore", 0) // SLOTS
    # Three or four intervals begin in the window: two instances sweeping each would make
    # six to eight. A loaded machine may fit fewer in; at least one always starts.
    assert 1 <= sweeps <= 4, f"{sweeps} sweeps in 6.5 s by two instances: one per interval"


async def test_idle_instances_read_no_index_between_full_sweeps(
    tmp_path: Path, log_dir: Path
) -> None:
    """Between full sweeps an instance reads only the indexes its own games were
    listed in: idle, none (a full sweep every 2 s cost 16,384 reads)."""
    async with private_redis(tmp_path / "redis") as url:
        calls = await idle_calls(log_dir, url, 6.5, CROUPIER_SWEEP_FULL_PASS_S="60")
    # (The Crash round's tick script reads its cashout index with ZRANGEBYSCORE too.)
    assert calls.get("zrangebyscore", 0) < SLOTS // 10 and calls.get("zcard", 0) == 0, calls


async def test_an_instance_sweeps_the_index_of_its_game_until_it_is_empty(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """A Quiz question keeps its slot's index swept by the instance that asked it
    (every 2 s), which ends it at its deadline; once the index is empty, the instance
    stops reading it. No full sweep runs meanwhile."""
    async with private_redis(tmp_path / "redis") as url:
        process = await ServerProcess(
            log_dir,
            REDIS_URL=url,
            CROUPIER_SWEEP_FULL_PASS_S="3600",
            CROUPIER_QUIZ_TIME_LIMIT_MS="6000",
        ).start()
        redis = connect(url)
        token, user = await new_guest(http, process.base_url)
        client = await WsClient.open(process.ws_url, token)
        try:
            await client.request("quiz.start", amount=100, currency="PLAY", key="q")
            await reset_stats(url)
            await asyncio.sleep(4.5)
            while_open = (await command_calls(url)).get("zcard", 0)
            ended = await client.next_event("game.state", timeout=15)
            while ended["data"]["state"]["state"] == "active":
                ended = await client.next_event("game.state", timeout=15)
            assert ended["data"]["state"]["ended_by"] == "timeout"
            assert await redis.zcard(UserKeys(user["id"]).games_due) == 0
            await asyncio.sleep(2.5)  # the sweep that finds the index empty
            await reset_stats(url)
            await asyncio.sleep(4.5)
            after = await command_calls(url)
        finally:
            await client.close()
            await redis.aclose()
            await process.stop()
    assert while_open >= 2, "the index was read each interval while its game was open"
    assert after.get("zcard", 0) == 0, after


async def test_a_game_an_earlier_version_opened_without_its_first_step_is_written_by_the_sweep(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """Earlier versions opened a step game in one script and wrote its first step in a
    second, listing the game in the due index in between: a process that died there left
    the game without its record. The full sweep writes that step and drops the entry. (A
    Redis of the test's own: the full sweep's lease is shared with every instance on a
    Redis, and the others sweep every 15 s.)"""
    async with private_redis(tmp_path / "redis") as url:
        server = await ServerProcess(log_dir, REDIS_URL=url, CROUPIER_SWEEP_FULL_PASS_S="1").start()
        redis = connect(url)
        token, user = await new_guest(http, server.base_url)
        client = await WsClient.open(server.ws_url, token)
        try:
            started = await client.request(
                "mines.start", amount=100, currency="PLAY", mines=3, key="old-start"
            )
            bet_id = started["bet_id"]
            keys = UserKeys(user["id"])
            # The game as an earlier version left it: no record, at step 0, due at once.
            state = json.loads(await redis.hget(keys.games, "mines"))
            del state["record"]
            member = due_member("mines", user["id"], bet_id)
            await redis.hset(
                keys.games, mapping={"mines": json.dumps(state), "mines:v": f"{bet_id}:0"}
            )
            await redis.zadd(keys.games_due, {member: 0})
            async with asyncio.timeout(30):
                while await redis.zscore(keys.games_due, member) is not None:
                    await asyncio.sleep(0.1)
            state = json.loads(await redis.hget(keys.games, "mines"))
            assert state["record"] is not None
            assert await redis.hget(keys.games, "mines:v") == f"{bet_id}:1"
            resumed = await client.request("mines.active")
            assert resumed["bet_id"] == bet_id and resumed["state"]["state"] == "active"
        finally:
            await client.close()
            await redis.aclose()
            await server.stop()
