"""One instant bet's script in Redis: EVALSHA against FCALL of its function library.

`python -m bench.functions` starts a private Redis 7 (AOF everysec), loads
`bet_play.lua` both ways (into the script cache, and as the function library
the server uses on Redis 7), and in each round runs `--calls` pipelined bets of
one user through each, alternating which goes first. Every call is a real bet:
the nonce and seed pair match, so each one debits, credits, writes its ledger
entries, record, journal entry and idempotency record. The figure is Redis's
own time per call (`INFO commandstats`), and the median of the rounds'
FCALL / EVALSHA ratios: the cost of defining the shared helpers on every call.
"""

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import orjson
from redis import Redis

from bench.common import machine
from server.bets.service import _HERE as BETS
from server.embedded_redis import EmbeddedRedis, find_redis_server, redis_server_version
from server.limits.context import LimitContexts
from server.limits.periods import Clock
from server.redis_functions import FUNCTIONS_SINCE, function_library, library_name
from server.wallet import UserKeys
from server.wallet.scripts import script_source

USER = "bench-functions"
SEED_HASH = "ab" * 32
RECORD_FIELDS = {
    "game": "dice", "amount": 100, "currency": "PLAY",
    "params": {"target": "50.5", "over": True}, "server_seed_hash": SEED_HASH,
    "client_seed": "bench", "nonce": 0, "created_at": 1_764_460_000_000,
    "multiplier": "1.98", "payout": 198, "details": {"roll": "73.12"},
}  # fmt: skip
RECORD = orjson.dumps(RECORD_FIELDS).decode()
"""A settled dice bet's record as the server sends it (the script adds its id)."""


def run_round(redis: Redis, call: tuple[str, str], first_nonce: int, calls: int) -> float:
    """Redis's microseconds per call of `calls` pipelined bets through `call` (command, name)."""
    keys = UserKeys(USER)
    context = LimitContexts(Clock()).context(USER)
    redis.config_resetstat()
    pipe = redis.pipeline(transaction=False)
    for nonce in range(first_nonce, first_nonce + calls):
        bet_keys = [
            keys.wallet, keys.ledger, keys.idempotency(f"bet:{nonce}"), keys.seeds, keys.bets,
            keys.journal, keys.limits,
        ]  # fmt: skip
        args = [
            USER, "PLAY", "100", "dice", '{"over":true,"target":"50.5"}', SEED_HASH, nonce,
            198 if nonce % 2 else 0, RECORD, 60, keys.events, context,
        ]  # fmt: skip
        pipe.execute_command(call[0], call[1], len(bet_keys), *bet_keys, *args)
    replies = pipe.execute()
    if any(reply[0] != "ok" for reply in replies):
        raise RuntimeError(f"a bet was refused: {replies[0]}")
    redis.delete(keys.ledger, keys.bets, keys.journal)  # keep the hashes a steady size
    stats = redis.info("commandstats")[f"cmdstat_{call[0].lower()}"]
    return float(stats["usec_per_call"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000, help="bets per round and way (5000)")
    parser.add_argument("--rounds", type=int, default=8, help="rounds (8)")
    args = parser.parse_args()
    binary = find_redis_server()
    if redis_server_version(binary) < (FUNCTIONS_SINCE,):
        raise SystemExit(f"{binary} is older than Redis {FUNCTIONS_SINCE}: no function libraries")
    print(f"bench/functions on {machine()}, {binary}")
    with tempfile.TemporaryDirectory(prefix="bench-functions-") as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", "everysec", binary)
        redis = Redis.from_url(await server.start(), decode_responses=True)
        try:
            source = script_source(BETS / "bet_play.lua")
            sha = redis.script_load(source.text)
            name = library_name(sha)
            redis.function_load(function_library(name, source))
            keys = UserKeys(USER)
            redis.hset(keys.wallet, mapping={"PLAY": 10**14, "version": 0})
            pair = {"server_seed": "cd" * 32, "server_seed_hash": SEED_HASH, "client_seed": "bench"}
            redis.hset(keys.seeds, mapping={**pair, "nonce": 0})
            ways = {"EVALSHA": ("EVALSHA", sha), "FCALL": ("FCALL", name)}
            times: dict[str, list[float]] = {way: [] for way in ways}
            nonce = 0
            for number in range(args.rounds):
                for way in sorted(ways, reverse=number % 2 == 1):
                    times[way].append(run_round(redis, ways[way], nonce, args.calls))
                    nonce += args.calls
            for way, values in times.items():
                spread = ", ".join(f"{value:.1f}" for value in values)
                print(f"{way:<8} us per bet, median {statistics.median(values):6.1f}  ({spread})")
            ratios = [f / e for f, e in zip(times["FCALL"], times["EVALSHA"], strict=True)]
            print(f"FCALL / EVALSHA, median of the rounds: {statistics.median(ratios):.2f}x")
        finally:
            redis.close()
            await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
