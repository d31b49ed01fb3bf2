"""How the archiver writes a batch: COPY, and the upserts when a row of it is in
PostgreSQL already (a batch written again after its commit, an open bet entry
settled in a later batch), with the same entry twice in one batch; the tables'
exact contents and the audit afterwards."""

import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from server.audit import audit_all, format_report
from server.bets.service import settled_record
from server.config import Settings
from server.db.archiver import GROUP, Archiver
from server.db.batch import Rows
from server.metrics import Metrics
from server.protocol import dumps
from server.redis_client import connect
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys, Wallet, WalletScripts
from server.wallet.journal import Journal
from server.wallet.scripts import script_source
from tests.servers import private_database, private_redis

BET_RECORD = Path(__file__).parent.parent / "server" / "bets" / "bet_record.lua"


@dataclass
class Site:
    """A wallet and an archiver in this process, on a Redis and a database of the test's own."""

    redis: Redis
    runner: ScriptRunner
    wallet: Wallet
    pool: asyncpg.Pool
    archiver: Archiver
    metrics: Metrics

    async def archive(self, user_id: str) -> int:
        """Run the archiver's full pass (it claims what a dead consumer left pending)."""
        archived = await self.archiver.full_pass()
        assert await self.redis.xlen(UserKeys(user_id).journal) == 0
        assert (await self.redis.xpending(UserKeys(user_id).journal, GROUP))["pending"] == 0
        return archived

    async def record_bet(self, user_id: str, bet_id: int, amount: int, paid: int) -> None:
        """Store and journal a settled bet's public record, as a stepped game does."""
        bet = {
            "id": bet_id, "game": "mines", "amount": amount, "currency": "PLAY",
            "params": {"mines": 3}, "server_seed_hash": "ab" * 32, "client_seed": "c",
            "nonce": bet_id, "created_at": int(time.time() * 1000),
        }  # fmt: skip
        record = settled_record(bet, f"{paid / amount:.2f}", paid, {"tiles": [4, 9]})
        keys = UserKeys(user_id)
        script = self.runner.script(script_source(BET_RECORD, with_prelude=False))
        await script(keys=[keys.bets, keys.journal], args=[bet_id, dumps(record), user_id])

    async def journal_records(self, user_id: str) -> list[tuple[str, dict[str, str]]]:
        journal: list[tuple[str, dict[str, str]]] = await self.redis.xrange(
            UserKeys(user_id).journal
        )
        return journal


@asynccontextmanager
async def site(tmp_path: Path, database_url: str) -> AsyncIterator[Site]:
    async with (
        private_redis(tmp_path / "redis") as url,
        private_database(database_url) as books_url,
    ):
        redis = connect(url)
        runner = ScriptRunner(url)
        pool = await asyncpg.create_pool(books_url, min_size=1, max_size=2)
        settings = Settings(archive_claim_idle_s=0.001, history_window=1_000_000)
        journal = Journal(redis, settings.journal_max)
        metrics = Metrics()
        archiver = Archiver(
            redis, runner, pool, consumer="archiver-under-test", journal=journal,
            settings=settings, metrics=metrics,
        )  # fmt: skip
        wallet = Wallet(redis, WalletScripts.register(runner), 86_400, journal=journal)
        try:
            yield Site(redis, runner, wallet, pool, archiver, metrics)
        finally:
            await pool.close()
            await runner.aclose()
            await redis.aclose()


async def tables(pool: asyncpg.Pool, user_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """The user's rows of every table the ledger fills, in key order."""
    queries = {
        "ledger_entries": "SELECT * FROM ledger_entries WHERE user_id = $1 ORDER BY entry_id",
        "postings": "SELECT * FROM postings WHERE user_id = $1 ORDER BY entry_id, account",
        "bets": "SELECT * FROM bets WHERE user_id = $1 ORDER BY bet_id",
    }
    return {
        table: [tuple(row.values()) for row in await pool.fetch(query, user_id)]
        for table, query in queries.items()
    }


async def expected_tables(redis: Redis, user_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """What PostgreSQL must hold of the user: the ledger and bet records Redis holds, and
    two postings per entry (the player's, and its opposite on the house or treasury)."""
    keys = UserKeys(user_id)
    entries = sorted(
        (json.loads(raw) for raw in (await redis.hgetall(keys.ledger)).values()),
        key=lambda e: e["id"],
    )
    records = sorted(
        (json.loads(raw) for raw in (await redis.hgetall(keys.bets)).values()),
        key=lambda r: r["id"],
    )
    postings = []
    for e in entries:
        other = "treasury" if e["type"] in ("deposit", "adjust") else "house"
        sides = sorted([("player", e["amount"]), (other, -e["amount"])])
        postings += [(user_id, e["id"], account, "PLAY", amount) for account, amount in sides]
    return {
        "ledger_entries": [
            (user_id, e["id"], e["type"], e["amount"], e["currency"], e["game"], e["ref"],
             e["status"], e["balance_after"], e["created_at"])
            for e in entries
        ],
        "postings": postings,
        "bets": [
            (user_id, r["id"], r["game"], r["currency"], r["amount"], r["payout"],
             r["server_seed_hash"], json.dumps(r), r["created_at"], r["settled_at"])
            for r in records
        ],
    }  # fmt: skip


def comparable(found: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows with each bet record as parsed JSON (jsonb does not keep the text)."""
    return found | {
        "bets": [(*row[:7], json.loads(row[7]), *row[8:]) for row in found["bets"]],
    }


async def assert_archived_exactly(s: Site, user_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """PostgreSQL holds exactly the user's ledger and bets, and the audit passes."""
    found = await tables(s.pool, user_id)
    assert comparable(found) == comparable(await expected_tables(s.redis, user_id))
    report = await audit_all(s.redis, database=s.pool)
    assert report.ok, format_report(report, 10)
    assert report.books is not None and report.books.trial_balance == {"PLAY": 0}
    return found


async def play_mines(s: Site, user_id: str, rounds: int) -> None:
    """`rounds` bets opened, settled and recorded (every other one won)."""
    for n in range(rounds):
        bet = await s.wallet.debit(user_id, 100, "PLAY", key=f"b{n}", game="mines", ref=f"g{n}")
        assert bet.tx is not None
        paid = 250 * (n % 2)
        await s.wallet.settle(user_id, bet.tx["id"], paid, key=f"s{n}")
        await s.record_bet(user_id, bet.tx["id"], 100, paid)


async def test_a_batch_written_again_after_its_commit_changes_nothing(
    tmp_path: Path, database_url: str
) -> None:
    """A consumer wrote a batch, then died before acknowledging it: the archiver claims
    the batch, COPY meets its rows and the upserts write it again, changing nothing."""
    async with site(tmp_path, database_url) as s:
        user_id = secrets.token_hex(8)
        await s.wallet.credit(user_id, 10_000, "PLAY", key="signup", kind="deposit")
        await play_mines(s, user_id, 6)
        journal = UserKeys(user_id).journal
        await s.redis.xgroup_create(journal, GROUP, id="0")
        found = await s.redis.xreadgroup(GROUP, "dead-consumer", {journal: ">"}, count=1000)
        rows = Rows()
        for _, fields in found[0][1]:
            rows.add(fields["k"], fields["u"], fields["d"])
        async with s.pool.acquire() as connection:
            assert await rows.write(connection), "written by COPY"
        first = await assert_archived_exactly(s, user_id)

        assert await s.archive(user_id) == len(found[0][1]), "claimed and written again"
        assert s.metrics.archive_upserts == 1, "COPY met the rows: upserts wrote the batch"
        assert await assert_archived_exactly(s, user_id) == first, "nothing changed"
        assert Counter((row[2], row[7]) for row in first["ledger_entries"]) == {
            ("deposit", "done"): 1, ("bet", "settled"): 6, ("win", "done"): 3,
        }  # fmt: skip
        assert len(first["postings"]) == 20 and len(first["bets"]) == 6


async def test_an_open_bet_archived_then_settled_and_rolled_back_in_later_batches(
    tmp_path: Path, database_url: str
) -> None:
    async with site(tmp_path, database_url) as s:
        user_id = secrets.token_hex(8)
        await s.wallet.credit(user_id, 1_000, "PLAY", key="signup", kind="deposit")
        won = await s.wallet.debit(user_id, 100, "PLAY", key="won", game="mines", ref="g1")
        lost = await s.wallet.debit(user_id, 200, "PLAY", key="lost", game="mines", ref="g2")
        undone = await s.wallet.debit(user_id, 300, "PLAY", key="undone", game="hilo", ref="g3")
        assert won.tx is not None and lost.tx is not None and undone.tx is not None
        assert await s.archive(user_id) == 4
        assert s.metrics.archive_upserts == 0, "every row new: COPY wrote them"
        archived = await assert_archived_exactly(s, user_id)
        assert [row[7] for row in archived["ledger_entries"]] == ["done", "open", "open", "open"]

        await s.wallet.settle(user_id, won.tx["id"], 250, key="settle-won")
        await s.record_bet(user_id, won.tx["id"], 100, 250)
        await s.wallet.settle(user_id, lost.tx["id"], 0, key="settle-lost")
        await s.record_bet(user_id, lost.tx["id"], 200, 0)
        await s.wallet.rollback(user_id, undone.tx["id"], key="undo")
        await s.archive(user_id)
        assert s.metrics.archive_upserts == 1, "the open entries were there: upserts"
        archived = await assert_archived_exactly(s, user_id)
        assert [(row[2], row[3], row[7]) for row in archived["ledger_entries"]] == [
            ("deposit", 1_000, "done"),
            ("bet", -100, "settled"),
            ("bet", -200, "settled"),
            ("bet", -300, "rolled_back"),
            ("win", 250, "done"),
            ("rollback", 300, "done"),
        ]
        assert [(row[1], row[5]) for row in archived["bets"]] == [(2, 250), (3, 0)]

        # Later batches of new rows go by COPY again.
        await play_mines(s, user_id, 2)
        await s.archive(user_id)
        assert s.metrics.archive_upserts == 1
        await assert_archived_exactly(s, user_id)


async def test_an_entry_journaled_twice_in_one_batch_keeps_its_last_form(
    tmp_path: Path, database_url: str
) -> None:
    """Opened and settled before the archiver ran: both forms in one batch, by COPY; and
    the same in a batch the upserts write (its first record was written before)."""
    async with site(tmp_path, database_url) as s:
        for redelivered in (False, True):
            user_id = secrets.token_hex(8)
            await s.wallet.credit(user_id, 1_000, "PLAY", key="signup", kind="deposit")
            if redelivered:  # the deposit's record reaches PostgreSQL, and stays journaled
                (_, fields), *_ = await s.journal_records(user_id)
                deposit = Rows()
                deposit.add(fields["k"], fields["u"], fields["d"])
                async with s.pool.acquire() as connection:
                    await deposit.write(connection)
            bet = await s.wallet.debit(user_id, 100, "PLAY", key="b", game="mines", ref="g")
            assert bet.tx is not None
            await s.wallet.settle(user_id, bet.tx["id"], 180, key="s")
            await s.record_bet(user_id, bet.tx["id"], 100, 180)
            forms = [
                (r["d"]["id"], r["d"]["status"])
                for _, fields in await s.journal_records(user_id)
                if fields["k"] == "records"
                for r in json.loads(fields["d"])
            ]
            assert forms == [(1, "done"), (2, "open"), (2, "settled"), (3, "done")]

            upserts_before = s.metrics.archive_upserts
            await s.archive(user_id)
            assert s.metrics.archive_upserts - upserts_before == int(redelivered)
            archived = await assert_archived_exactly(s, user_id)
            assert [(row[1], row[2], row[7]) for row in archived["ledger_entries"]] == [
                (1, "deposit", "done"),
                (2, "bet", "settled"),
                (3, "win", "done"),
            ]
            assert len(archived["postings"]) == 6
