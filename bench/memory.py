"""Redis memory over a long run: what a million bets leave once archived, and a second million.

`python -m bench.memory` starts a private redis-server and a Croupier server
(with its own embedded PostgreSQL and the default history window), signs up
`--users` guests, then has them bet (dice, closed loop over WebSockets, each
bet a new idempotency key, `--clients` users at a time in turn) until `--bets`
bets have settled, twice. After each million it waits until the archiver has
copied every journal record to PostgreSQL and trimmed the history window,
reads Redis `used_memory`, then deletes the idempotency records and reads it
again: their share is reported apart, since they expire after
`CROUPIER_IDEMPOTENCY_TTL_S` whatever the volume. Targets: the first million
adds <= 64 MiB (idempotency records excluded), the second <= 5% more.
"""

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from bench.common import Drive, croupier_server, drive, guests, machine
from loadtest.transport import default_client
from server.embedded_redis import EmbeddedRedis
from server.slots import SLOTS, slot_key
from server.wallet.keys import JOURNAL

MIB = 1024 * 1024
IDEMPOTENCY_PATTERN = "{u:*}:idem:*"


@dataclass(frozen=True)
class Reading:
    """Redis memory at one point of the run."""

    used: int
    """`used_memory` with the idempotency records."""
    idempotency: int
    """What deleting the idempotency records freed."""
    records: int
    """How many idempotency records there were."""

    @property
    def rest(self) -> int:
        return self.used - self.idempotency


def used_memory(redis: Redis) -> int:
    """`used_memory` once lazy freeing has finished."""
    while int(redis.info("memory").get("lazyfree_pending_objects", 0)):
        time.sleep(0.1)
    return int(redis.info("memory")["used_memory"])


def unarchived(redis: Redis) -> int:
    """Journal records of every slot not yet deleted by the archiver."""
    with redis.pipeline(transaction=False) as pipe:
        for slot in range(SLOTS):
            pipe.xlen(slot_key(slot, JOURNAL))
        return sum(pipe.execute())


def wait_archived(redis: Redis, timeout_s: float = 600) -> float:
    """Wait until every journal is drained and the trims had a pass; returns seconds waited."""
    started = time.monotonic()
    while unarchived(redis):
        if time.monotonic() - started > timeout_s:
            raise RuntimeError("the archiver did not catch up")
        time.sleep(0.5)
    time.sleep(2)  # the trim of the last batch
    return time.monotonic() - started


def read_and_drop_idempotency(redis: Redis) -> Reading:
    """Memory with the idempotency records, then without them (they are deleted)."""
    used = used_memory(redis)
    records = 0
    batch: list[bytes] = []
    for key in redis.scan_iter(match=IDEMPOTENCY_PATTERN, count=5000):
        batch.append(key)
        if len(batch) == 5000:
            records += redis.delete(*batch)
            batch = []
    if batch:
        records += redis.delete(*batch)
    return Reading(used, used - used_memory(redis), records)


def bet_until(base: str, tokens: list[str], bets: int, label: str, args: argparse.Namespace) -> int:
    """Closed-loop dice bets until `bets` have settled, `--clients` users at a time, taking
    the users in turn; returns how many settled."""
    ws_url = base.replace("http", "ws", 1) + "/ws"
    done, round_no = 0, 0
    while done < bets:
        round_no += 1
        first = (round_no - 1) * args.clients % len(tokens)
        group = (tokens * 2)[first : first + args.clients]
        request = {"op": "bet", "id": "#", "game": "dice", "amount": 10, "currency": "PLAY"}
        request |= {"params": {"target": "50.50", "condition": "over"}, "key": "#"}
        unique = f'"{label}{round_no}-{{n}}"'  # a new id and key for every bet of every round
        frame = json.dumps(request, separators=(",", ":")).replace('"#"', unique)
        left_s = (bets - done) / max(args.rate_guess, 1)
        duration = min(args.round_s, max(left_s, 2))
        spec = Drive(ws_url, default_client(), frame, duration, tuple(group), len(group))
        result = drive(spec, args.processes)
        done += result.round_trips
        args.rate_guess = result.rate
        print(f"  {label}: {done:,} bets ({result.rate:,.0f}/s)", flush=True)
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="simulated users (1000)")
    parser.add_argument("--bets", type=int, default=1_000_000, help="bets per phase (1000000)")
    parser.add_argument("--clients", type=int, default=100, help="users betting at once (100)")
    parser.add_argument("--round-s", type=float, default=10, help="seconds per drive (10)")
    parser.add_argument("--processes", type=int, default=2, help="driver processes (2)")
    args = parser.parse_args()
    args.rate_guess = 3000.0
    print(f"bench/memory on {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(tmp)
        asyncio.run(with_redis(args, workdir))


async def with_redis(args: argparse.Namespace, workdir: Path) -> None:
    embedded = EmbeddedRedis(workdir / "redis", "everysec")
    url = await embedded.start()
    try:
        await asyncio.to_thread(run, args, workdir, url)
    finally:
        await embedded.stop()


def run(args: argparse.Namespace, workdir: Path, url: str) -> None:
    redis = Redis.from_url(url)
    with croupier_server(url, workdir) as (base, _pid):
        empty = used_memory(redis)
        tokens = guests(base, args.users)
        wait_archived(redis)
        users = read_and_drop_idempotency(redis)
        readings = []
        for label in ("a", "b"):
            started = time.monotonic()
            settled = bet_until(base, tokens, args.bets, label, args)
            elapsed = time.monotonic() - started
            waited = wait_archived(redis)
            readings.append(read_and_drop_idempotency(redis))
            print(f"  {settled:,} bets in {elapsed:.0f} s; archive caught up {waited:.1f} s later")
    first, second = readings
    per_user = (users.rest - empty) / args.users
    print(f"\n{args.users:,} users, {args.bets:,} bets per phase, history window 50 (default)")
    print(f"empty start                    {empty / MIB:9.1f} MiB")
    print(
        f"after sign-up                  {users.rest / MIB:9.1f} MiB  ({per_user:,.0f} B per user)"
    )
    for name, reading in (("first", first), ("second", second)):
        each = reading.idempotency / max(reading.records, 1)
        print(
            f"after the {name} phase, archived {reading.rest / MIB:9.1f} MiB"
            f"  + idempotency records {reading.idempotency / MIB:.1f} MiB"
            f" ({reading.records:,} records, {each:.0f} B each)"
        )
    growth_first = first.rest - empty
    growth_second = second.rest - first.rest
    print(
        f"the first phase added {growth_first / MIB:.1f} MiB (target <= 64 MiB);"
        f" the second {growth_second / MIB:+.2f} MiB = {growth_second / growth_first:+.1%}"
        " of the first (target <= 5%)"
    )
    redis.close()


if __name__ == "__main__":
    main()
