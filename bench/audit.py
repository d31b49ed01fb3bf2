"""How fast `croupier audit` replays ledgers: `python -m bench.audit`.

Fills a private redis-server with `--users` users of `--entries` ledger
entries each, written by the real wallet scripts (bets settled with random
payouts, through the server's pipelined script runner), then
times `server.audit.audit_all` over all of them.
"""

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench.common import machine
from loadtest.worker import event_loop_runner
from server.audit import audit_all, format_report
from server.embedded_redis import EmbeddedRedis
from server.redis_client import connect
from server.redis_scripts import ScriptRunner
from server.wallet import Wallet, WalletScripts

FILL_AT_ONCE = 200


async def fill(wallet: Wallet, users: int, entries: int) -> None:
    """Each user: a deposit, then bets (debit + settle) until `entries` entries."""
    rng = random.Random(7)

    async def one(user: str) -> None:
        await wallet.credit(user, 10**9, "PLAY", key="d", kind="deposit")
        written, n = 1, 0
        while written < entries:
            bet = await wallet.debit(user, 100, "PLAY", key=f"b{n}", game="dice", ref=str(n))
            assert bet.tx is not None
            payout = rng.choice((0, 0, 198))
            await wallet.settle(user, bet.tx["id"], payout, key=f"s{n}")
            written += 2 if payout else 1
            n += 1

    gate = asyncio.Semaphore(FILL_AT_ONCE)

    async def gated(user: str) -> None:
        async with gate:
            await one(user)

    await asyncio.gather(*(gated(f"{i:016x}") for i in range(users)))


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        redis_server = EmbeddedRedis(Path(tmp), "everysec")
        url = await redis_server.start()
        redis = connect(url)
        runner = ScriptRunner(url)
        try:
            scripts = WalletScripts.register(runner)
            started = time.perf_counter()
            await fill(Wallet(redis, scripts, 86_400), args.users, args.entries)
            filled = time.perf_counter() - started
            report = await audit_all(redis, batch=args.batch, chunk=args.chunk)
        finally:
            await runner.aclose()
            await redis.aclose()
            await redis_server.stop()
    print(f"bench/audit on {machine()}")
    print(f"filled {report.entries:,} ledger entries of {args.users:,} users in {filled:.1f} s")
    print(format_report(report, 5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="users (2000)")
    parser.add_argument("--entries", type=int, default=500, help="ledger entries per user (500)")
    parser.add_argument("--batch", type=int, default=500, help="audit: users per batch (500)")
    parser.add_argument("--chunk", type=int, default=1000, help="audit: entries per HMGET (1000)")
    args = parser.parse_args()
    with event_loop_runner() as runner:
        runner.run(main_async(args))


if __name__ == "__main__":
    main()
