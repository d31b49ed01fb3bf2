"""The auto-pipelined script runner against a real Redis: replies in order, errors,
NOSCRIPT, dropped connections, cancellation, the in-flight bound, and the URL's
password and database (for the pub/sub subscriber too)."""

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import hiredis
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.embedded_redis import find_redis_server, redis_server_version
from server.realtime.subscriber import Subscriber
from server.redis_client import connect
from server.redis_functions import (
    FUNCTIONS_SINCE,
    LIBRARY_PREFIX,
    RETIRE_AFTER_MS,
    STAMPS_KEY,
    LuaSource,
    has_functions,
)
from server.redis_scripts import ReplicaAcks, ScriptRunner
from server.wallet.scripts import script_source
from tests.servers import REDIS_VERSIONS, private_redis

ECHO = "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) * 2}"


def tag() -> str:
    return f"{{t:{secrets.token_hex(4)}}}"


async def test_concurrent_calls_each_get_their_own_reply(runner: ScriptRunner) -> None:
    echo = runner.script(ECHO)
    key = tag()
    replies = await asyncio.gather(*(echo([key], [f"a{n}", n]) for n in range(2000)))
    assert replies == [[key, f"a{n}", 2 * n] for n in range(2000)]


async def test_an_error_reply_raises_and_the_connection_goes_on(runner: ScriptRunner) -> None:
    broken = runner.script("return redis.call('INCR', KEYS[1], 'extra')")
    echo = runner.script(ECHO)
    key = tag()
    results = await asyncio.gather(
        echo([key], ["before", 1]), broken([key]), echo([key], ["after", 2]),
        return_exceptions=True,
    )  # fmt: skip
    assert results[0] == [key, "before", 2] and results[2] == [key, "after", 4]
    # Only the error code: the message differs between Redis 6.2 and 7.
    assert isinstance(results[1], ResponseError) and str(results[1]).startswith("ERR ")


async def forget_scripts(redis: Redis) -> None:
    """Empty the script cache and, on Redis 7, delete every function library."""
    await redis.script_flush()
    if await runs_functions(redis):
        await redis.function_flush()


async def runs_functions(redis: Redis) -> bool:
    """Whether the Redis of `redis` (one server, or every node of a cluster) runs libraries."""
    info = await redis.info("server")
    nodes = [info] if "redis_version" in info else list(info.values())
    return all(has_functions(str(node["redis_version"])) for node in nodes)


async def test_a_script_redis_forgot_is_loaded_again(runner: ScriptRunner, redis: Redis) -> None:
    counter = runner.script(LuaSource("return redis.call('INCR', KEYS[1])", "local unused = 1"))
    key = tag()
    assert await counter([key]) == 1
    await forget_scripts(redis)
    assert await asyncio.gather(*(counter([key]) for _ in range(50))) == list(range(2, 52))


@pytest.mark.single_node("one redis-server of each version")
@pytest.mark.parametrize("binary", REDIS_VERSIONS)
async def test_redis_7_runs_scripts_as_function_libraries_and_6_2_by_sha(
    tmp_path: Path, binary: str | None
) -> None:
    async with private_redis(tmp_path / "redis", binary) as url:
        redis = connect(url)
        runner = ScriptRunner(url)
        try:
            helpers = "local function twice(n) return 2 * tonumber(n) end"
            script = runner.script(LuaSource("return {KEYS[1], twice(ARGV[1])}", helpers))
            assert await script(["k"], ["21"]) == ["k", 42]
            if await runs_functions(redis):
                [library] = await redis.function_list(f"{LIBRARY_PREFIX}*")
                assert library[1] == script.function == f"croupier_{script.sha}"
                assert await redis.script_exists(script.sha) == [False]
                assert await redis.hget(STAMPS_KEY, script.function) is not None
            else:
                assert await redis.script_exists(script.sha) == [True]
        finally:
            await runner.aclose()
            await redis.aclose()


JOURNAL_STEPS = """
if ARGV[1] == 'abandon' then
  journal_to(KEYS[1])
  journal('entry', 'u1', '{"abandoned":true}')
  error('refused after journaling')
elseif ARGV[1] == 'one' then
  journal_to(KEYS[1])
  journal('bet', 'u1', '{"n":1}')
  journal_flush()
  return redis.call('XLEN', KEYS[1])
end
apply_moves(KEYS[2], KEYS[3], KEYS[4], 'u1', 'PLAY', 'dice', '1', {{1, 'win', 'done'}})
"""


@pytest.mark.single_node("one redis-server of each version")
@pytest.mark.parametrize("binary", REDIS_VERSIONS)
async def test_no_call_sees_the_journal_of_another(tmp_path: Path, binary: str | None) -> None:
    """A function library keeps its locals between calls: the journal helpers start
    afresh in each call that names its journal, and end with its flush."""
    async with private_redis(tmp_path / "redis", binary) as url:
        redis = connect(url)
        runner = ScriptRunner(url)
        steps = runner.script(LuaSource(JOURNAL_STEPS, script_source(Path(__file__)).helpers))
        user = "{u:u1}"
        keys = [f"{user}:journal", f"{user}:wallet", f"{user}:ledger", f"{user}:events"]
        try:
            with pytest.raises(ResponseError, match="refused after journaling"):
                await steps(keys, ["abandon"])
            assert await steps(keys, ["one"]) == 1
            [(_, entry)] = await redis.xrange(keys[0])
            assert json.loads(entry["d"]) == [{"k": "bet", "d": {"n": 1}}]
            with pytest.raises(ResponseError, match="without naming its journal"):
                await steps(keys, ["move"])
            assert await redis.exists(keys[1], keys[2]) == 0
        finally:
            await runner.aclose()
            await redis.aclose()


@pytest.mark.single_node("the libraries of one redis-server")
async def test_libraries_nobody_stamped_for_a_week_are_deleted(tmp_path: Path) -> None:
    """Function libraries outlive restarts: an instance's first load on a connection
    deletes those no instance stamped for RETIRE_AFTER_MS, keeps the others, and an
    instance still calling a deleted one loads it again."""
    binary = find_redis_server()
    if redis_server_version(binary) < (FUNCTIONS_SINCE,):
        pytest.skip("function libraries need Redis 7")
    async with private_redis(tmp_path / "redis", binary) as url:
        redis = connect(url)
        old_runner, new_runner = ScriptRunner(url), ScriptRunner(url)
        try:
            old = old_runner.script("return 'old'")
            recent = old_runner.script("return 'recent'")
            assert await old([]) == "old" and await recent([]) == "recent"
            week_ago = int(time.time() * 1000) - RETIRE_AFTER_MS - 60_000
            await redis.hset(STAMPS_KEY, old.function, week_ago)
            await redis.hset(STAMPS_KEY, "croupier_gone", week_ago)  # a library deleted by hand

            new = new_runner.script("return 'new'")
            assert await new([]) == "new"
            libraries = {lib[1] for lib in await redis.function_list(f"{LIBRARY_PREFIX}*")}
            assert libraries == {recent.function, new.function}
            assert set(await redis.hkeys(STAMPS_KEY)) == {recent.function, new.function}

            assert await old([]) == "old"  # "Function not found": loaded and stamped again
            assert await redis.hexists(STAMPS_KEY, old.function)
        finally:
            await old_runner.aclose()
            await new_runner.aclose()
            await redis.aclose()


@pytest.mark.single_node("the one-connection ScriptRunner (ClusterScriptRunner: test_cluster.py)")
async def test_scripts_no_replica_acknowledged_in_time_have_an_unknown_outcome(
    redis_url: str, redis: Redis
) -> None:
    """This Redis has no replica: a WAIT for one times out, after the scripts ran."""
    runner = ScriptRunner(redis_url, acks=ReplicaAcks(1, 20))
    counter = runner.script("return redis.call('INCR', KEYS[1])")
    key = tag()
    try:
        results = await asyncio.gather(*(counter([key]) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert "outcome unknown" in str(results[0])
        assert await redis.get(key) == "5"
        assert await runner.execute("GET", key) == "5"  # plain commands wait for no replica
    finally:
        await runner.aclose()


@pytest.mark.single_node("the one-connection ScriptRunner (ClusterScriptRunner: test_cluster.py)")
async def test_a_dropped_connection_fails_calls_in_flight_then_reconnects(
    redis_url: str, redis: Redis
) -> None:
    runner = ScriptRunner(redis_url)
    try:
        first_id = await runner.execute("CLIENT", "ID")
        blocked = asyncio.ensure_future(runner.execute("BLPOP", tag(), "5"))
        await asyncio.sleep(0.05)
        assert await redis.client_kill_filter(_id=first_id) == 1
        with pytest.raises(RedisConnectionError):
            await blocked
        assert await runner.execute("CLIENT", "ID") != first_id
    finally:
        await runner.aclose()


SLOW = """
local start = redis.call('TIME')
repeat local now = redis.call('TIME')
until (now[1] - start[1]) * 1000000 + (now[2] - start[2]) >= 100000
return ARGV[1]
"""


async def test_a_cancelled_call_does_not_shift_the_replies_of_others(
    runner: ScriptRunner,
) -> None:
    slow = runner.script(SLOW)
    await slow([], ["warm"])
    cancelled = asyncio.ensure_future(slow([], ["cancelled"]))
    queued = [asyncio.ensure_future(runner.execute("ECHO", str(n))) for n in range(3)]
    await asyncio.sleep(0.02)
    cancelled.cancel()
    assert await asyncio.gather(*queued) == ["0", "1", "2"]
    assert await runner.execute("ECHO", "after") == "after"


async def query_buffer_bytes(redis: Redis, client_id: int) -> int:
    """Bytes a client has sent that Redis has not run yet (its query buffer)."""
    line: str = await redis.execute_command("CLIENT", "LIST", "ID", client_id)
    fields = dict(part.split("=", 1) for part in line.split())
    return int(fields["qbuf"])


@pytest.mark.single_node("the one-connection ScriptRunner (ClusterScriptRunner: test_cluster.py)")
async def test_the_in_flight_bound_holds_callers_back(tmp_path: Path) -> None:
    # With writes paused, Redis reads the runner's commands into its query buffer
    # but runs none: the buffer holds every call the runner let go.
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        runner = ScriptRunner(url, max_in_flight=4)
        try:
            key = tag()
            command_bytes = len(hiredis.pack_command(("INCR", key)))
            runner_id = await runner.execute("CLIENT", "ID")
            await redis.execute_command("CLIENT", "PAUSE", 10_000, "WRITE")
            calls = asyncio.gather(*(runner.execute("INCR", key) for _ in range(500)))
            async with asyncio.timeout(5):
                while await query_buffer_bytes(redis, runner_id) < 3 * command_bytes:
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # time for any call past the bound to arrive
            held = await query_buffer_bytes(redis, runner_id)
            await redis.execute_command("CLIENT", "UNPAUSE")
            assert await calls == list(range(1, 501))
            assert held <= 4 * command_bytes, held // command_bytes
        finally:
            await runner.aclose()
            await redis.aclose()


@pytest.fixture(scope="module")
async def password_redis(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A private redis-server that requires a password: its socket path."""
    directory = tmp_path_factory.mktemp("auth-redis")
    socket = directory / "redis.sock"
    process = await asyncio.create_subprocess_exec(
        find_redis_server(), "--port", "0", "--unixsocket", str(socket), "--save", "",
        "--appendonly", "no", "--dir", str(directory), "--requirepass", "s3cret",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with asyncio.timeout(10):
        while not socket.exists():
            await asyncio.sleep(0.02)
    yield str(socket)
    process.terminate()
    await process.wait()


async def test_the_url_password_and_db_are_used(password_redis: str) -> None:
    runner = ScriptRunner(f"unix://{password_redis}?password=s3cret&db=3")
    received: list[tuple[str, str]] = []
    subscriber = Subscriber(
        f"unix://{password_redis}?password=s3cret", lambda *message: received.append(message)
    )
    try:
        assert "db=3" in await runner.execute("CLIENT", "INFO")
        await subscriber.connect()
        await subscriber.subscribe("news")
        assert await runner.execute("PUBLISH", "news", "hello") == 1
        async with asyncio.timeout(5):
            while not received:
                await asyncio.sleep(0.01)
        assert received == [("news", "hello")]
    finally:
        await runner.aclose()
        subscriber.close()


async def test_a_wrong_password_is_refused(password_redis: str) -> None:
    runner = ScriptRunner(f"unix://{password_redis}?password=wrong")
    with pytest.raises(ResponseError):
        await runner.execute("PING")
    with pytest.raises(ResponseError):
        await Subscriber(f"unix://{password_redis}?password=wrong", print).connect()
