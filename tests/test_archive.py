"""PostgreSQL as the system of record: migrations, and the journal archived once, whole."""

import asyncio
import json
import os
import secrets
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from games.crash import crash_point
from server.crash.config import DEFAULT_SALT
from server.crash.records import hundredths
from server.db.archiver import GROUP
from server.db.batch import Rows
from server.db.migrate import migrate, migration_files
from server.embedded_redis import EmbeddedRedis, running_redis_pid
from server.redis_client import connect
from server.redis_cluster_scripts import script_runner
from server.wallet import UserKeys, Wallet, WalletScripts
from tests.crash_chain import crafted_hashes, install_chain
from tests.servers import ServerProcess, private_database, private_postgres, private_redis
from tests.wsclient import WsClient, new_guest


async def test_two_instances_starting_together_apply_each_migration_once(
    database_url: str,
) -> None:
    name = f"migrations_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url.replace("/croupier?", f"/{name}?")
    try:
        first, second = await asyncpg.connect(url), await asyncpg.connect(url)
        applied = await asyncio.gather(migrate(first), migrate(second))
        expected = [path.stem for path in migration_files()]
        assert sorted(applied, key=len) == [[], expected]
        rows = await first.fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in rows] == expected
        assert await migrate(first) == []
        await first.close()
        await second.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def redis_ledger(redis: Redis, user_id: str) -> dict[int, dict[str, Any]]:
    raw = await redis.hgetall(UserKeys(user_id).ledger)
    return {int(entry_id): json.loads(entry) for entry_id, entry in raw.items()}


async def archived_ledger(pool: asyncpg.Connection, user_id: str) -> dict[int, dict[str, Any]]:
    rows = await pool.fetch("SELECT * FROM ledger_entries WHERE user_id = $1", user_id)
    return {
        row["entry_id"]: {
            "id": row["entry_id"], "user": row["user_id"], "type": row["type"],
            "amount": row["amount"], "currency": row["currency"], "game": row["game"],
            "ref": row["ref"], "status": row["status"], "balance_after": row["balance_after"],
            "created_at": row["created_at"],
        }
        for row in rows
    }  # fmt: skip


async def wait_archived(
    redis: Redis, database: asyncpg.Connection, user_id: str, timeout: float = 20
) -> dict[int, dict[str, Any]]:
    """The user's archived ledger once it equals the ledger in Redis."""
    async with asyncio.timeout(timeout):
        while True:
            archived = await archived_ledger(database, user_id)
            if archived == await redis_ledger(redis, user_id):
                return archived
            await asyncio.sleep(0.1)


async def wait_journal_drained(redis: Redis, user_id: str, timeout: float = 20) -> None:
    """Wait until the journal holds no record of the user: PostgreSQL has them all. (A
    seed reveal is a record of its own, written after the ledger's: a round of the
    archiver can take the ledger and leave it for the next.)"""
    journal = UserKeys(user_id).journal
    async with asyncio.timeout(timeout):
        while any(fields.get("u") == user_id for _, fields in await redis.xrange(journal)):
            await asyncio.sleep(0.1)


async def play_a_bit_of_everything(client: WsClient) -> None:
    for _ in range(5):
        await client.request(
            "bet", game="dice", amount=100, currency="PLAY", key=secrets.token_hex(8),
            params={"target": "50.50", "condition": "over"},
        )  # fmt: skip
    await client.request(
        "mines.start", amount=200, currency="PLAY", mines=24, key=secrets.token_hex(6)
    )
    reveal = await client.request("mines.reveal", tile=7)
    if reveal["state"]["state"] == "active":
        await client.request("mines.cashout")
    await client.request("seeds.rotate")


async def archived_records(http: httpx.AsyncClient, server: ServerProcess) -> int:
    """The server's count of journal records archived."""
    metrics = (await http.get(f"{server.base_url}/metrics")).text
    line = next(
        line for line in metrics.splitlines() if line.startswith("croupier_archived_records")
    )
    return int(line.split()[1])


async def test_every_money_record_reaches_postgresql_once_and_the_books_balance(
    server: ServerProcess, http: httpx.AsyncClient, redis: Redis, database_url: str
) -> None:
    archived_before = await archived_records(http, server)
    token, user = await new_guest(http, server.base_url)
    client = await WsClient.open(server.ws_url, token)
    try:
        await play_a_bit_of_everything(client)
    finally:
        await client.close()
    database = await asyncpg.connect(database_url)
    try:
        archived = await wait_archived(redis, database, user["id"])
        await wait_journal_drained(redis, user["id"])
        assert all(entry["status"] != "open" for entry in archived.values())
        postings = await database.fetch(
            "SELECT account, currency, sum(amount)::bigint AS total FROM postings"
            " WHERE user_id = $1 GROUP BY account, currency",
            user["id"],
        )
        by_account = {(row["account"], row["currency"]): row["total"] for row in postings}
        wallet = await redis.hgetall(UserKeys(user["id"]).wallet)
        assert by_account[("player", "PLAY")] == int(wallet["PLAY"])
        assert sum(by_account.values()) == 0, "every posting has its opposite"
        assert by_account[("treasury", "PLAY")] == -100_000, "the sign-up credit"
        bets = await database.fetch(
            "SELECT bet_id, record FROM bets WHERE user_id = $1", user["id"]
        )
        stored = await redis.hgetall(UserKeys(user["id"]).bets)
        assert {row["bet_id"]: json.loads(row["record"]) for row in bets} == {
            int(bet_id): json.loads(record) for bet_id, record in stored.items()
        }
        seeds = await database.fetch(
            "SELECT server_seed_hash, server_seed FROM revealed_seeds WHERE user_id = $1",
            user["id"],
        )
        assert len(seeds) == 1 and {row["server_seed_hash"] for row in seeds} <= {
            json.loads(record)["server_seed_hash"] for record in stored.values()
        }
        # A script's entries and bet record are one journal record.
        archived_now = await archived_records(http, server) - archived_before
        assert 0 < archived_now <= len(archived) + len(bets) + len(seeds)
    finally:
        await database.close()


async def test_records_of_a_consumer_that_died_mid_batch_are_archived_once(
    tmp_path: Path, log_dir: Path, database_url: str
) -> None:
    """A consumer read a batch and wrote half of it to PostgreSQL, then died before
    acknowledging anything: the full pass of an instance archives it all, once."""
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        runner = script_runner(url)
        database = await asyncpg.connect(database_url)
        await migrate(database)
        try:
            # Money moved with no archiver running: the records wait in the journal.
            user_id = secrets.token_hex(8)
            wallet = Wallet(redis, WalletScripts.register(runner), 86_400)
            await wallet.credit(user_id, 10_000, "PLAY", key="signup", kind="deposit")
            for n in range(20):
                bet = await wallet.debit(user_id, 100, "PLAY", key=f"b{n}", game="dice")
                assert bet.tx is not None
                await wallet.settle(user_id, bet.tx["id"], 150 * (n % 2), key=f"s{n}")
            journal = UserKeys(user_id).journal
            await redis.xgroup_create(journal, GROUP, id="0")
            found = await redis.xreadgroup(GROUP, "dead-consumer", {journal: ">"}, count=1000)
            records = found[0][1]
            half = Rows()
            for _, fields in records[: len(records) // 2]:
                half.add(fields["k"], fields["u"], fields["d"])
            await half.write(database)

            survivor = await ServerProcess(
                log_dir,
                REDIS_URL=url,
                CROUPIER_ARCHIVE_FULL_PASS_S="0.5",
                CROUPIER_ARCHIVE_CLAIM_IDLE_S="0.5",
            ).start()
            try:
                archived = await wait_archived(redis, database, user_id)
            finally:
                await survivor.stop()
            assert len(archived) == 1 + 20 + 10, "deposit, 20 bets, 10 wins"
            counts = await database.fetch(
                "SELECT entry_id, count(*) AS n FROM postings WHERE user_id = $1 GROUP BY entry_id",
                user_id,
            )
            assert {row["entry_id"]: row["n"] for row in counts} == dict.fromkeys(archived, 2)
            assert await redis.xlen(journal) == 0
            assert (await redis.xpending(journal, GROUP))["pending"] == 0
        finally:
            await database.close()
            await runner.aclose()
            await redis.aclose()


async def test_bets_go_on_while_postgresql_is_down_and_the_backlog_drains_after(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    async with private_postgres() as postgres, private_redis(tmp_path / "redis") as url:
        database_url = postgres.url
        redis = connect(url)
        process = await ServerProcess(log_dir, REDIS_URL=url, DATABASE_URL=database_url).start()
        try:
            token, user = await new_guest(http, process.base_url)
            client = await WsClient.open(process.ws_url, token)
            await postgres.stop()
            await play_a_bit_of_everything(client)  # every bet still settles
            await asyncio.sleep(1.5)  # the archiver fails meanwhile, and keeps the records
            assert await redis.xlen(UserKeys(user["id"]).journal) > 0
            await postgres.start()
            await play_a_bit_of_everything(client)
            await client.close()
            database = await asyncpg.connect(database_url)
            try:
                archived = await wait_archived(redis, database, user["id"])
                assert len(archived) == int(
                    await redis.hget(UserKeys(user["id"]).wallet, "version")
                )
            finally:
                await database.close()
        finally:
            await process.stop()
            await redis.aclose()


async def test_new_stakes_wait_while_the_journal_is_at_its_bound_and_nothing_is_lost(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """PostgreSQL down, a tiny CROUPIER_JOURNAL_MAX: once the backlog reaches it, a bet
    is refused with UNAVAILABLE and moves nothing, while a game already open still
    cashes out; when PostgreSQL is back the backlog drains and bets go on."""
    async with private_postgres() as postgres, private_redis(tmp_path / "redis") as url:
        database_url = postgres.url
        redis = connect(url)
        process = await ServerProcess(
            log_dir, REDIS_URL=url, DATABASE_URL=database_url,
            CROUPIER_JOURNAL_MAX="30", CROUPIER_ARCHIVE_FULL_PASS_S="0.3",
        ).start()  # fmt: skip
        try:
            token, user = await new_guest(http, process.base_url)
            client = await WsClient.open(process.ws_url, token)
            keys = UserKeys(user["id"])
            await client.request(
                "mines.start", amount=100, currency="PLAY", mines=1, key=secrets.token_hex(6)
            )
            await postgres.stop()
            refused = None
            async with asyncio.timeout(20):
                while refused is None:
                    reply = await client.call(
                        "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                        params={"target": "50.50", "condition": "over"},
                    )  # fmt: skip
                    if not reply["ok"]:
                        refused = reply["error"]
                        break
                    await asyncio.sleep(0.02)
            assert refused["code"] == "UNAVAILABLE", refused
            ready = (await http.get(f"{process.base_url}/readyz")).json()
            assert ready == {"ready": True, "journal_full": True}, "ready, and says why"
            wallet_before = await redis.hgetall(keys.wallet)
            again = await client.call(
                "bet", game="dice", amount=10, currency="PLAY", key="refused",
                params={"target": "50.50", "condition": "over"},
            )  # fmt: skip
            assert again["error"]["code"] == "UNAVAILABLE"
            assert await redis.hgetall(keys.wallet) == wallet_before, "nothing moved"
            await client.request("mines.reveal", tile=0)  # money at stake still settles...
            game = await client.call("mines.cashout")  # ...(or the reveal lost it)
            assert game["ok"] or game["error"]["code"] == "GAME_NOT_ACTIVE"
            await postgres.start()
            database = await asyncpg.connect(database_url)
            try:
                async with asyncio.timeout(30):
                    while not (await client.call(
                        "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
                        params={"target": "50.50", "condition": "over"},
                    ))["ok"]:  # fmt: skip
                        await asyncio.sleep(0.2)
                archived = await wait_archived(redis, database, user["id"])
                version = await redis.hget(keys.wallet, "version")
                assert len(archived) == int(version)
            finally:
                await database.close()
            await client.close()
        finally:
            await process.stop()
            await redis.aclose()


async def test_finished_crash_rounds_are_archived_with_their_totals(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    """Short crafted rounds: each finished round reaches crash_rounds with its hash and
    point, under the chain it belongs to. (A database of the test's own: chains crafted by
    other tests may share this one's first hash, and so its name.)"""
    hashes = crafted_hashes(50, lambda k: (Decimal("1.00"), Decimal("1.05")), seed=3)
    async with private_redis(tmp_path / "redis") as url, private_database(database_url) as own:
        redis = connect(url)
        await install_chain(redis, hashes)
        server = await ServerProcess(
            log_dir, REDIS_URL=url, DATABASE_URL=own, CROUPIER_CRASH_BETTING_MS="400",
            CROUPIER_CRASH_CRASHED_MS="100",
        ).start()  # fmt: skip
        database = await asyncpg.connect(own)
        try:
            chain = (await http.get(f"{server.base_url}/api/crash/chain")).json()
            async with asyncio.timeout(30):
                while True:
                    rows = await database.fetch(
                        "SELECT id, hash, point_x100, voided FROM crash_rounds WHERE chain = $1"
                        " ORDER BY id",
                        chain["terminating_hash"],
                    )
                    if len(rows) >= 3:
                        break
                    await asyncio.sleep(0.2)
            for row in rows:
                round_hash = hashes[row["id"] - 1]
                assert row["hash"] == round_hash and not row["voided"]
                assert row["point_x100"] == hundredths(crash_point(round_hash, DEFAULT_SALT))
        finally:
            await database.close()
            await server.stop()
            await redis.aclose()


async def test_accounts_are_archived_at_their_first_session(
    server: ServerProcess, http: httpx.AsyncClient, database_url: str
) -> None:
    name = f"u_{secrets.token_hex(5)}"
    registered = await http.post(
        f"{server.base_url}/api/auth/register", json={"username": name, "password": "hunter22"}
    )
    registered.raise_for_status()
    user_id = registered.json()["user"]["id"]
    _, guest = await new_guest(http, server.base_url)
    login = await http.post(
        f"{server.base_url}/api/auth/login", json={"username": name, "password": "hunter22"}
    )
    login.raise_for_status()
    database = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(10):
            while True:
                rows = await database.fetch(
                    "SELECT id, name, kind, password_hash FROM users WHERE id = ANY($1::text[])",
                    [user_id, guest["id"]],
                )
                if len(rows) == 2:
                    break
                await asyncio.sleep(0.1)
        by_id = {row["id"]: row for row in rows}
        assert by_id[user_id]["kind"] == "registered" and by_id[user_id]["name"] == name
        assert by_id[user_id]["password_hash"].startswith("scrypt$")
        assert by_id[guest["id"]]["kind"] == "guest" and by_id[guest["id"]]["password_hash"] is None
    finally:
        await database.close()


async def test_two_instances_archive_one_users_journal_together_without_doubles(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient, database_url: str
) -> None:
    """Tabs of the same users on two instances: both archive the same slots (one consumer
    each); every entry reaches PostgreSQL once, both sides posted once."""
    async with private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        instances = [
            await ServerProcess(log_dir, REDIS_URL=url).start(),
            await ServerProcess(log_dir, REDIS_URL=url).start(),
        ]
        database = await asyncpg.connect(database_url)
        try:
            players = [await new_guest(http, instances[0].base_url) for _ in range(3)]
            tabs = [
                await WsClient.open(instance.ws_url, token)
                for token, _ in players
                for instance in instances
            ]
            await asyncio.gather(*(play_a_bit_of_everything(tab) for tab in tabs[::2]))
            await asyncio.gather(*(bet_dice(tab, 12) for tab in tabs[1::2]))
            for tab in tabs:
                await tab.close()
            for _, user in players:
                archived = await wait_archived(redis, database, user["id"])
                postings = await database.fetch(
                    "SELECT entry_id, count(*) AS n FROM postings WHERE user_id = $1"
                    " GROUP BY entry_id",
                    user["id"],
                )
                assert {row["entry_id"]: row["n"] for row in postings} == dict.fromkeys(archived, 2)
        finally:
            await database.close()
            for instance in instances:
                await instance.stop()
            await redis.aclose()


async def bet_dice(client: WsClient, count: int) -> None:
    for _ in range(count):
        await client.request(
            "bet", game="dice", amount=10, currency="PLAY", key=secrets.token_hex(8),
            params={"target": "50.50", "condition": "over"},
        )  # fmt: skip


@pytest.mark.single_node("restarts the redis-server on its AOF")
async def test_a_backlog_survives_redis_restarting_on_its_aof(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """PostgreSQL down, a backlog in the journal, then Redis killed and restarted on its
    AOF (fsync always): when PostgreSQL returns, the backlog reaches it whole."""
    embedded = EmbeddedRedis(tmp_path / "redis", "always")
    url = await embedded.start()
    async with private_postgres() as postgres:
        redis = connect(url)
        process = await ServerProcess(
            log_dir, REDIS_URL=url, DATABASE_URL=postgres.url, CROUPIER_ARCHIVE_FULL_PASS_S="0.5"
        ).start()  # fmt: skip
        try:
            token, user = await new_guest(http, process.base_url)
            client = await WsClient.open(process.ws_url, token)
            await postgres.stop()
            await bet_dice(client, 15)
            await client.close()
            backlog = await redis.xlen(UserKeys(user["id"]).journal)
            assert backlog > 0
            pid = running_redis_pid(embedded.pidfile)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await embedded.stop()  # reaps it
            assert await embedded.start() == url
            assert await redis.xlen(UserKeys(user["id"]).journal) == backlog, "on the AOF"
            await postgres.start()
            database = await asyncpg.connect(postgres.url)
            try:
                archived = await wait_archived(redis, database, user["id"], timeout=30)
                version = await redis.hget(UserKeys(user["id"]).wallet, "version")
                assert len(archived) == int(version)
            finally:
                await database.close()
        finally:
            await process.stop()
            await redis.aclose()
            await embedded.stop()


async def test_a_stopping_instance_archives_what_it_wrote_since_its_last_round(
    tmp_path: Path, log_dir: Path, http: httpx.AsyncClient
) -> None:
    """With rounds an hour apart, only the last round a graceful stop runs can have
    written the bets to PostgreSQL: all of them are there, and the journal is empty."""
    async with private_postgres() as postgres, private_redis(tmp_path / "redis") as url:
        redis = connect(url)
        process = await ServerProcess(
            log_dir, REDIS_URL=url, DATABASE_URL=postgres.url,
            CROUPIER_ARCHIVE_INTERVAL_S="3600", CROUPIER_ARCHIVE_FULL_PASS_S="3600",
        ).start()  # fmt: skip
        try:
            token, user = await new_guest(http, process.base_url)
            client = await WsClient.open(process.ws_url, token)
            await play_a_bit_of_everything(client)
            await client.close()
            assert await redis.xlen(UserKeys(user["id"]).journal) > 0
            ledger = await redis_ledger(redis, user["id"])
        finally:
            await process.stop()
        database = await asyncpg.connect(postgres.url)
        try:
            assert await archived_ledger(database, user["id"]) == ledger
            bets = await database.fetchval(
                "SELECT count(*) FROM bets WHERE user_id = $1", user["id"]
            )
            assert bets == 6  # five dice bets and the Mines game
        finally:
            await database.close()
        assert await redis.xlen(UserKeys(user["id"]).journal) == 0
        await redis.aclose()
