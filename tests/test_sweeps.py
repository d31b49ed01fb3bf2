"""The expiry sweep reads the per-slot games-due indexes, never the whole keyspace,
and one instance of a deployment sweeps per interval."""

import asyncio
import json
import secrets
from pathlib import Path

import httpx
from redis.asyncio import Redis

from server.limits.context import LimitContexts
from server.limits.periods import Clock
from server.redis_client import connect
from server.redis_scripts import ScriptRunner
from server.slots import SLOTS, key_slot, slot_key
from server.stepped.service import FIRST_WRITE_GRACE_MS, due_member
from server.wallet import UserKeys
from server.wallet.keys import GAMES_DUE
from server.wallet.scripts import script_source
from tests.servers import ServerProcess, private_redis
from tests.wsclient import WsClient, new_guest

STEP_OPEN = Path(__file__).parent.parent / "server" / "stepped" / "step_open.lua"
OPEN_BET_HELPERS = STEP_OPEN.parent.parent / "bets" / "_open_bet.lua"


def test_every_slot_has_its_own_index_key() -> None:
    keys = {slot_key(slot, GAMES_DUE) for slot in range(SLOTS)}
    assert len(keys) == SLOTS
    assert all(key_slot(slot_key(slot, GAMES_DUE)) == slot for slot in range(0, SLOTS, 97))
    user = UserKeys("0123456789abcdef")
    assert key_slot(user.games_due) == key_slot(user.wallet)


async def command_calls(redis: Redis) -> dict[str, int]:
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}


async def test_idle_sweeps_never_scan_however_many_keys_there_are(
    tmp_path: Path, log_dir: Path
) -> None:
    """Two idle instances over 50,000 keys: no SCAN at all, and one sweep per interval
    reads each slot's index once (16,384 reads), whatever the number of keys."""
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(50_000):
                    pipe.hset(f"{{u:{n:016x}}}:ledger", "1", "{}")
                    pipe.hset(f"{{u:{n:016x}}}:games", "other", "{}")
                await pipe.execute()
            instances = [
                await ServerProcess(log_dir, REDIS_URL=url).start(),
                await ServerProcess(log_dir, REDIS_URL=url).start(),
            ]
            try:
                await asyncio.sleep(1)  # past the start-up upgrade check
                await redis.config_resetstat()
                await asyncio.sleep(6.5)  # three sweep intervals
                calls = await command_calls(redis)
            finally:
                for instance in instances:
                    await instance.stop()
        finally:
            await redis.aclose()
    assert "scan" not in calls, calls
    sweeps = calls.get("zrangebyscore", 0) / SLOTS
    assert 2 <= sweeps <= 4, f"{sweeps} sweeps in 6.5 s by two instances: one per interval"


async def test_a_start_whose_first_step_was_lost_is_written_by_the_sweep(
    server: ServerProcess, runner: ScriptRunner, redis: Redis, http: httpx.AsyncClient
) -> None:
    """A process that died between opening a Mines game and writing its first step
    leaves it in the due index; the sweep writes the step and drops the entry."""
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        await client.request("seeds")
        keys = UserKeys(user["id"])
        step_open = runner.script(script_source(STEP_OPEN, True, OPEN_BET_HELPERS))
        status, payload = await step_open(
            keys=[keys.wallet, keys.ledger, keys.idempotency(f"game:{secrets.token_hex(4)}"),
                  keys.seeds, keys.games, keys.open_on_seeds, keys.games_due, keys.journal,
                  keys.limits],
            args=[user["id"], "PLAY", "100", "mines", '{"mines":3}', "86400", keys.events,
                  "0", due_member("mines", user["id"], ""),
                  LimitContexts(Clock()).context(user["id"])],
        )  # fmt: skip
        assert status == "ok"
        bet_id = json.loads(payload)["id"]
        member = due_member("mines", user["id"], bet_id)
        assert await redis.zscore(keys.games_due, member) == 0
        async with asyncio.timeout(10):
            while await redis.zscore(keys.games_due, member) is not None:
                await asyncio.sleep(0.1)
        state = json.loads(await redis.hget(keys.games, "mines"))
        assert state["record"] is not None
        resumed = await client.request("mines.active")
        assert resumed["bet_id"] == bet_id and resumed["state"]["state"] == "active"
    finally:
        await client.close()
    assert FIRST_WRITE_GRACE_MS >= 1_000, "a live start writes its first step well before"
