"""The archiver: copies the journal streams of the user slots to PostgreSQL.

Every script that moves money appends what it wrote to the journal stream of
the user's cluster slot (`{s<n>}:journal`) in the same atomic step. Each
instance archives the slots its own scripts wrote to, a few times a second:
it reads new records with XREADGROUP (consumer group `archiver`, one consumer
per instance), writes them to PostgreSQL in one transaction with
`ON CONFLICT` on their natural keys, then acknowledges and deletes them. A
crash between the commit and the acknowledgement leaves the records pending;
they are written again, harmlessly. Every `archive_full_pass_s` one instance
(a short lease) also looks at every slot, claims records left pending longer
than `archive_claim_idle_s` by a consumer that went away, and archives what
it finds: nothing is left behind by an instance that stopped.
"""

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.config import Settings
from server.db.migrate import Connection
from server.logs import LogThrottle
from server.metrics import Metrics
from server.redis_scripts import ScriptRunner
from server.slots import SLOTS, slot_key
from server.wallet.journal import BACKLOG_KEY, Journal
from server.wallet.keys import JOURNAL

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

GROUP = "archiver"
BATCH = 1000
"""Records read, written and acknowledged together."""
HINT_INTERVAL_S = 0.1
FULL_PASS_LEASE_KEY = "croupier:archiver:full-pass"

COUNTER_ACCOUNT = {
    "bet": "house",
    "win": "house",
    "refund": "house",
    "rollback": "house",
    "deposit": "treasury",
    "adjust": "treasury",
}
"""Where each ledger entry type posts its opposite (double entry)."""

# One statement per table and batch: the rows go as one array per column.
_INSERT_ENTRIES = """
INSERT INTO ledger_entries (user_id, entry_id, type, amount, currency, game, ref, status,
                            balance_after, created_at)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::bigint[], $10::bigint[])
ON CONFLICT (user_id, entry_id) DO UPDATE SET status = EXCLUDED.status
WHERE ledger_entries.status = 'open'
"""
_INSERT_POSTINGS = """
INSERT INTO postings (user_id, entry_id, account, currency, amount)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[])
ON CONFLICT DO NOTHING
"""
_INSERT_BETS = """
INSERT INTO bets (user_id, bet_id, game, currency, amount, payout, server_seed_hash, record,
                  created_at, settled_at)
SELECT u, b, g, c, a, p, h, r::jsonb, ca, sa
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
            $7::text[], $8::text[], $9::bigint[], $10::bigint[])
     AS t(u, b, g, c, a, p, h, r, ca, sa)
ON CONFLICT DO NOTHING
"""
_INSERT_SEEDS = """
INSERT INTO revealed_seeds (user_id, server_seed_hash, server_seed, client_seed, next_nonce,
                            revealed_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
ON CONFLICT DO NOTHING
"""


def consumer_name() -> str:
    """This process's consumer name in the archiver group: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def journal_key(slot: int) -> str:
    """The journal stream of slot `slot`."""
    return slot_key(slot, JOURNAL)


class Rows:
    """The rows of a batch of journal records, by table. An entry written twice in
    one batch (a bet opened, then settled) keeps its last form."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], tuple[Any, ...]] = {}
        self.postings: dict[tuple[str, int, str], tuple[Any, ...]] = {}
        self.bets: list[tuple[Any, ...]] = []
        self.seeds: list[tuple[Any, ...]] = []

    def add(self, kind: str, user: str, data: dict[str, Any]) -> None:
        """Add one journal record (kind `entry`, `bet` or `seed`)."""
        if kind == "entry":
            self._add_entry(data)
        elif kind == "bet":
            self.bets.append(
                (
                    user, data["id"], data["game"], data["currency"], data["amount"],
                    data["payout"], data.get("server_seed_hash"), orjson.dumps(data).decode(),
                    data["created_at"], data["settled_at"],
                )
            )  # fmt: skip
        elif kind == "seed":
            self.seeds.append(
                (
                    user, data["server_seed_hash"], data["server_seed"], data["client_seed"],
                    data["nonce"], data["revealed_at"],
                )
            )  # fmt: skip
        else:
            raise ValueError(f"unknown journal record kind {kind!r}")

    def _add_entry(self, entry: dict[str, Any]) -> None:
        user, entry_id, amount, currency = (
            entry["user"],
            entry["id"],
            entry["amount"],
            entry["currency"],
        )
        self.entries[user, entry_id] = (
            user, entry_id, entry["type"], amount, currency, entry["game"], entry["ref"],
            entry["status"], entry["balance_after"], entry["created_at"],
        )  # fmt: skip
        counter = COUNTER_ACCOUNT[entry["type"]]
        self.postings[user, entry_id, "player"] = (user, entry_id, "player", currency, amount)
        self.postings[user, entry_id, counter] = (user, entry_id, counter, currency, -amount)

    async def write(self, connection: Connection) -> None:
        """Insert every row in one transaction (a replayed row changes nothing)."""
        async with connection.transaction():
            for statement, rows in (
                (_INSERT_ENTRIES, list(self.entries.values())),
                (_INSERT_POSTINGS, list(self.postings.values())),
                (_INSERT_BETS, self.bets),
                (_INSERT_SEEDS, self.seeds),
            ):
                if rows:
                    columns = zip(*rows, strict=True)
                    await connection.execute(statement, *(list(column) for column in columns))


class Archiver:
    """The archiving loops of one instance."""

    def __init__(
        self,
        redis: Redis,
        runner: ScriptRunner,
        pool: asyncpg.Pool,
        *,
        consumer: str,
        journal: Journal,
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self._redis = redis
        self._runner = runner
        self._pool = pool
        self._consumer = consumer
        self._journal = journal
        self._metrics = metrics
        self._full_pass_s = settings.archive_full_pass_s
        self._claim_idle_ms = int(settings.archive_claim_idle_s * 1000)
        self._groups: set[int] = set()

    async def run(self) -> None:
        """Archive the slots this instance wrote to, a few times a second, forever."""
        while True:
            await asyncio.sleep(HINT_INTERVAL_S)
            slots = self._journal.take()
            try:
                for slot in slots:
                    await self.drain(slot)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._journal.put_back(slots)  # try them again next time
                _failures.failure("archiving the journal", error)
                await asyncio.sleep(1.0)

    async def run_full_passes(self) -> None:
        """Every `archive_full_pass_s`, one instance of the deployment archives every slot."""
        while True:
            await asyncio.sleep(self._full_pass_s)
            try:
                lease_ms = int(self._full_pass_s * 900)
                if await self._redis.set(FULL_PASS_LEASE_KEY, self._consumer, nx=True, px=lease_ms):
                    await self.full_pass()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                _failures.failure("the archiver's full pass", error)

    async def full_pass(self) -> int:
        """Claim records of gone consumers and archive every slot; returns records archived."""
        lengths: list[int] = await asyncio.gather(
            *(self._runner.call(("XLEN", journal_key(slot))) for slot in range(SLOTS))
        )
        self._metrics.journal_backlog = backlog = sum(lengths)
        expiry_ms = int(self._full_pass_s * 3000)
        await self._redis.set(BACKLOG_KEY, backlog, px=expiry_ms)
        archived = 0
        for slot, length in enumerate(lengths):
            if length:
                await self._claim_abandoned(slot)
                archived += await self.drain(slot)
        await self._redis.set(BACKLOG_KEY, max(0, backlog - archived), px=expiry_ms)
        return archived

    async def drain(self, slot: int) -> int:
        """Archive every record of the slot's journal this consumer can take."""
        key = journal_key(slot)
        await self._ensure_group(slot)
        archived = 0
        # First what this consumer read but did not acknowledge, then new records.
        for start in ("0", ">"):
            while True:
                found = await self._redis.xreadgroup(
                    GROUP, self._consumer, {key: start}, count=BATCH
                )
                records = found[0][1] if found else []
                records = [(record_id, fields) for record_id, fields in records if fields]
                if not records:
                    break
                await self._archive(key, records)
                archived += len(records)
        self._metrics.archived_records += archived
        return archived

    async def _archive(self, key: str, records: list[tuple[str, dict[str, str]]]) -> None:
        rows = Rows()
        for _, fields in records:
            rows.add(fields["k"], fields["u"], orjson.loads(fields["d"]))
        async with self._pool.acquire() as connection:
            await rows.write(connection)
        ids = [record_id for record_id, _ in records]
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.xack(key, GROUP, *ids).xdel(key, *ids).execute()
        oldest_ms = int(ids[0].partition("-")[0])
        self._metrics.archive_lag_ms = max(0, int(time.time() * 1000) - oldest_ms)

    async def _ensure_group(self, slot: int) -> None:
        if slot in self._groups:
            return
        try:
            await self._redis.xgroup_create(journal_key(slot), GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups.add(slot)

    async def _claim_abandoned(self, slot: int) -> None:
        await self._ensure_group(slot)
        start = "0-0"
        while True:
            start, claimed, *_ = await self._redis.xautoclaim(
                journal_key(slot), GROUP, self._consumer, self._claim_idle_ms, start, count=BATCH
            )
            if start == "0-0" or not claimed:
                return
