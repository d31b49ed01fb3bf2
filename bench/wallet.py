"""Wallet throughput: the project's Wallet API against raw calls of the same script.

`python -m bench.wallet` starts a private redis-server (unix socket in a temp
directory), loads the wallet's debit and credit scripts, and in the same run
measures, per script:

* raw: `redis-benchmark` calling that script from C as the runner does (FCALL
  of its function library on Redis 7, else EVALSHA), `--clients`
  connections, a random idempotency key per call (`__rand_int__`; the run
  is refused unless 99% of its calls moved money, i.e. were not replays);
* api: `Wallet.debit` / `Wallet.credit` from `--clients` concurrent asyncio
  tasks in one Python process (uvloop), on the server's own script runner
  (one auto-pipelined connection, `server/redis_scripts.py`).

Each round measures raw, then api, back to back; the figure is the median of
the rounds' api / raw ratios (target: >= 50%), so that a noisy neighbour
skews one round rather than the result. `--profile` prints a pyinstrument
profile of the api run.
"""

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

from bench.common import machine
from loadtest.worker import event_loop_runner
from server.config import Settings
from server.embedded_redis import EmbeddedRedis
from server.limits.context import LimitContexts
from server.limits.periods import Clock
from server.redis_client import connect
from server.redis_functions import has_functions
from server.redis_scripts import Script, ScriptRunner
from server.wallet import UserKeys, Wallet, WalletScripts

USER = "bench"
KEY_SPACE = 1_000_000_000
"""redis-benchmark's `-r`: its random numbers are 31-bit, a larger space gives 0 every time."""
MIN_APPLIED = 0.99
"""Share of raw calls that must have moved money (the rest replayed a key drawn twice)."""
FUNDS = 10**15
TTL = str(Settings().idempotency_ttl_s)


def redis_benchmark(socket: str, clients: int, requests: int, command: list[str]) -> float:
    """Requests per second of one redis-benchmark run."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark is not on PATH (apt-get install redis-tools)")
    output = subprocess.run(
        [binary, "-s", socket, "-c", str(clients), "-n", str(requests), "-r", str(KEY_SPACE),
         "-q", *command],
        check=True, capture_output=True, text=True, timeout=600,
    ).stdout  # fmt: skip
    found = re.findall(r"([\d.]+) requests per second", output)
    if not found:
        raise RuntimeError(f"unexpected redis-benchmark output: {output!r}")
    return float(found[-1])


def script_command(script: Script, functions: bool, kind: str) -> list[str]:
    """The call of the debit or credit script with the arguments Wallet sends."""
    keys = UserKeys(USER)
    op_kind = "bet" if kind == "debit" else "win"
    key_list = [
        keys.wallet, keys.ledger, keys.idempotency("raw:__rand_int__"), keys.journal, keys.limits,
    ]  # fmt: skip
    args = [
        USER, "PLAY", "1", op_kind, "dice", "ref", TTL, keys.events,
        LimitContexts(Clock()).context(USER),
    ]  # fmt: skip
    return [str(word) for word in script.command(functions, key_list, args)]


async def api_rate(
    operation: Callable[[str], Awaitable[object]], clients: int, requests: int
) -> float:
    """Calls per second of `operation(key)` from `clients` concurrent tasks."""
    per_client = requests // clients
    prefix = f"{time.monotonic_ns()}-"

    async def client(number: int) -> None:
        for i in range(per_client):
            await operation(f"{prefix}{number}-{i}")

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return per_client * clients / (time.perf_counter() - started)


def operations(wallet: Wallet) -> dict[str, Callable[[str], Awaitable[object]]]:
    return {
        "debit": lambda key: wallet.debit(USER, 1, "PLAY", key=key, game="dice", ref="ref"),
        "credit": lambda key: wallet.credit(
            USER, 1, "PLAY", key=key, kind="win", game="dice", ref="ref"
        ),
    }


async def wallet_version(redis: Redis) -> int:
    """The bench user's wallet version: one more per call that moved money."""
    return int(await redis.hget(UserKeys(USER).wallet, "version") or 0)


async def measure(args: argparse.Namespace, url: str, socket: str) -> list[str]:
    redis: Redis = connect(url, Settings().redis_pool_size)
    runner = ScriptRunner(url)
    try:
        scripts = WalletScripts.register(runner)
        functions = has_functions((await redis.info("server"))["redis_version"])
        wallet = Wallet(redis, scripts, int(TTL))
        await wallet.credit(USER, FUNDS, "PLAY", key="funds", kind="deposit")
        lines = []
        for kind, script in (("debit", scripts.debit), ("credit", scripts.credit)):
            operation = operations(wallet)[kind]
            await api_rate(operation, args.clients, 2000)  # warm-up
            command = script_command(script, functions, kind)  # loaded by the warm-up
            ratios = []
            for round_number in range(1, args.rounds + 1):
                version = await wallet_version(redis)
                raw = await asyncio.to_thread(
                    redis_benchmark, socket, args.clients, args.requests, command
                )
                applied = (await wallet_version(redis) - version) / args.requests
                if applied < MIN_APPLIED:
                    raise SystemExit(f"only {applied:.1%} of the raw {kind} calls moved money")
                api = await profiled(args, kind, operation, args.clients, args.requests)
                ratios.append(api / raw)
                lines.append(
                    f"{kind:<7} {round_number:>5} {raw:>9,.0f} {api:>9,.0f} {api / raw:>6.1%}"
                )
            lines.append(f"{kind:<7} median ratio {statistics.median(ratios):.1%}")
        return lines
    finally:
        await runner.aclose()
        await redis.aclose()


async def profiled(
    args: argparse.Namespace,
    kind: str,
    operation: Callable[[str], Awaitable[object]],
    clients: int,
    requests: int,
) -> float:
    """api_rate, under pyinstrument when --profile is given (for the debit run)."""
    if not args.profile or kind != "debit":
        return await api_rate(operation, clients, requests)
    from pyinstrument import Profiler  # noqa: PLC0415 (an optional tool)

    with Profiler(async_mode="disabled") as profiler:
        rate = await api_rate(operation, clients, requests)
    print(profiler.output_text(unicode=False, show_all=False))
    return rate


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-wallet-") as tmp:
        redis_server = EmbeddedRedis(Path(tmp), args.appendfsync)
        url = await redis_server.start()
        try:
            lines = await measure(args, url, url.removeprefix("unix://"))
        finally:
            await redis_server.stop()
    print(f"bench/wallet on {machine()}")
    print(
        f"{args.clients} clients, {args.requests:,} calls per run, one new key per call,"
        f" appendfsync {args.appendfsync}"
    )
    print(f"{'calls/s':<7} {'round':>5} {'raw':>9} {'api':>9} {'ratio':>6}")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent callers (50)")
    parser.add_argument("--requests", type=int, default=100_000, help="calls per run (100000)")
    parser.add_argument("--rounds", type=int, default=3, help="raw/api pairs per script (3)")
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="everysec")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the api debit run")
    args = parser.parse_args()
    with event_loop_runner() as runner:
        runner.run(main_async(args))


if __name__ == "__main__":
    main()
