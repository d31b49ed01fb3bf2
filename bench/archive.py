"""The archiver's throughput against a raw COPY of the same rows, in one run.

`python -m bench.archive` starts a private redis-server, PostgreSQL and a
Croupier server, then holds an exclusive lock on the ledger tables while
`--clients` bettors place dice bets for `--duration` seconds: the journal
fills up as it would while PostgreSQL is down. It releases the lock and times
the server's own archiver copying the backlog (ledger entries, their double
entry postings and the bet records) until its count of archived records
(/metrics) has grown by the backlog: that count moves once a batch is
committed, acknowledged, deleted from the journal and its users' history
trimmed. Baseline: the same rows, read back, written by `COPY` into
empty tables of the same shape. Target: the archiver at >= 50% of COPY.
"""

import argparse
import asyncio
import json
import tempfile
import time
import urllib.request
from pathlib import Path

import asyncpg
from redis import Redis

from bench.common import Drive, croupier_server, drive, guests, machine
from bench.fanout import metric
from bench.memory import unarchived
from loadtest.transport import default_client
from server.db.migrate import migrate
from server.embedded_postgres import EmbeddedPostgres
from server.embedded_redis import EmbeddedRedis

TABLES = ("ledger_entries", "postings", "bets")
"""What the archiver writes for bets, in the order of its transaction."""


def archived_records(base: str) -> int:
    """Journal records the server has archived, its history trims done."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        return int(metric(response.read().decode(), "croupier_archived_records_total"))


def bet_frame() -> str:
    request = {"op": "bet", "id": "#", "game": "dice", "amount": 10, "currency": "PLAY"}
    request |= {"params": {"target": "50.50", "condition": "over"}, "key": "#"}
    return json.dumps(request, separators=(",", ":")).replace('"#"', '"{n}"')


async def hold_lock(url: str, locked: asyncio.Event, release: asyncio.Event) -> None:
    """Keep the archiver's tables locked until `release` is set."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            await connection.execute(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            await release.wait()
    finally:
        await connection.close()


async def copy_baseline(url: str) -> tuple[int, float]:
    """COPY every archived row into empty tables of the same shape: (rows, seconds)."""
    connection = await asyncpg.connect(url)
    try:
        tables = {table: await connection.fetch(f"SELECT * FROM {table}") for table in TABLES}
        for table in TABLES:
            await connection.execute(f"CREATE TABLE copy_{table} (LIKE {table} INCLUDING ALL)")
        started = time.perf_counter()
        async with connection.transaction():
            for table, rows in tables.items():
                await connection.copy_records_to_table(
                    f"copy_{table}", records=[tuple(row.values()) for row in rows]
                )
        return sum(len(rows) for rows in tables.values()), time.perf_counter() - started
    finally:
        await connection.close()


async def count_rows(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        return {t: await connection.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await connection.close()


async def run(args: argparse.Namespace, workdir: Path) -> None:
    redis_server = EmbeddedRedis(workdir / "redis", "everysec")
    postgres = EmbeddedPostgres(workdir / "postgres")
    redis_url = await redis_server.start()
    database_url = await postgres.start()
    try:
        connection = await asyncpg.connect(database_url)
        await migrate(connection)
        await connection.close()
        await asyncio.to_thread(measure, args, workdir, redis_url, database_url)
    finally:
        await postgres.stop()
        await redis_server.stop()


def measure(args: argparse.Namespace, workdir: Path, redis_url: str, database_url: str) -> None:
    redis = Redis.from_url(redis_url)
    env = {"DATABASE_URL": database_url, "CROUPIER_JOURNAL_MAX": "100000000"}
    print(f"bench/archive on {machine()}")
    with croupier_server(redis_url, workdir, **env) as (base, _pid):
        tokens = tuple(guests(base, args.clients))
        while unarchived(redis):  # the sign-ups
            time.sleep(0.1)
        before = asyncio.run(count_rows(database_url))
        locked, release = asyncio.Event(), asyncio.Event()
        loop = asyncio.new_event_loop()
        holder = loop.create_task(hold_lock(database_url, locked, release))
        loop.run_until_complete(locked.wait())
        ws_url = base.replace("http", "ws", 1) + "/ws"
        spec = Drive(ws_url, default_client(), bet_frame(), args.duration, tokens, args.clients)
        result = drive(spec, args.processes)
        backlog = unarchived(redis)
        archived = archived_records(base) + backlog
        started = time.perf_counter()
        release.set()
        loop.run_until_complete(holder)
        loop.close()
        while archived_records(base) < archived:
            time.sleep(0.01)
        drained_s = time.perf_counter() - started
    after = asyncio.run(count_rows(database_url))
    rows = {table: after[table] - before[table] for table in TABLES}
    total = sum(rows.values())
    copied, copy_s = asyncio.run(copy_baseline(database_url))
    archiver_rate, copy_rate = total / drained_s, copied / copy_s
    print(
        f"{result.round_trips:,} bets in {args.duration:g} s while PostgreSQL was locked:"
        f" a backlog of {backlog:,} journal records"
    )
    print(
        f"archiver: {total:,} rows ({', '.join(f'{t} {n:,}' for t, n in rows.items())})"
        f" in {drained_s:.2f} s = {archiver_rate:,.0f} rows/s,"
        f" {rows['ledger_entries'] / drained_s:,.0f} ledger entries/s"
    )
    print(f"COPY of the same tables' rows: {copied:,} rows in {copy_s:.2f} s = {copy_rate:,.0f}/s")
    print(f"archiver / COPY = {archiver_rate / copy_rate:.0%} (target >= 50%)")
    redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="bettors (50)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of betting (20)")
    parser.add_argument("--processes", type=int, default=1, help="driver processes (1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        workdir = Path(tmp)
        (workdir / "postgres").mkdir()
        for directory in (workdir, workdir / "postgres"):  # under root PostgreSQL runs as
            directory.chmod(0o755)  # an unprivileged user, who must reach its data
        asyncio.run(run(args, workdir))


if __name__ == "__main__":
    main()
