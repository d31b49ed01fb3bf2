"""The archiver: copies the journal streams of the user slots to PostgreSQL.

Every script that moves money appends what it wrote to the journal stream of
the user's cluster slot (`{s<n>}:journal`) in the same atomic step. Each
instance archives the slots its own scripts wrote to, a few times a second:
it reads new records with XREADGROUP (consumer group `archiver`, one consumer
per instance), writes them to PostgreSQL in one transaction (`COPY`, or
upserts on their natural keys when a row is there already: see `batch`), then
acknowledges and deletes them. A crash between the commit and the
acknowledgement leaves the records pending; they are written again,
harmlessly. Every `archive_full_pass_s` one instance (a short lease) also
looks at every slot, claims records left pending longer than
`archive_claim_idle_s` by a consumer that went away, and archives what it
finds: nothing is left behind by an instance that stopped.
"""

import asyncio
import logging
import os
import secrets
import socket
import time
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from server.config import Settings
from server.db.batch import Rows
from server.logs import LogThrottle
from server.metrics import Metrics
from server.redis_scripts import ScriptRunner
from server.slots import SLOTS, slot_key
from server.supervise import leased_passes
from server.wallet import UserKeys
from server.wallet.journal import BACKLOG_KEY, Journal
from server.wallet.keys import JOURNAL
from server.wallet.scripts import script_source

log = logging.getLogger(__name__)
_failures = LogThrottle(log)

GROUP = "archiver"
BATCH = 1000
"""Records read from one journal at a time."""
SLOTS_PER_ROUND = 256
"""Journals the full pass reads and archives together."""
DRAIN_TIMEOUT_S = 5.0
"""How long a stopping instance may spend archiving what it wrote since its last round."""
DECODE_SLICE = 256
"""Journal records decoded between two yields to the event loop."""
TRIM_SCRIPT = Path(__file__).parent.parent / "wallet" / "history_trim.lua"
TRIM_BUDGET = 500
"""Most ledger entries and bet records one trim drops (the next batch drops more)."""
FULL_PASS_LEASE_KEY = "croupier:archiver:full-pass"

_ARCHIVED_UPTO = """
SELECT u.user_id,
       coalesce((SELECT max(entry_id) FROM ledger_entries l WHERE l.user_id = u.user_id), 0)
           AS entries,
       coalesce((SELECT max(bet_id) FROM bets b WHERE b.user_id = u.user_id), 0) AS bets
FROM unnest($1::text[]) AS u(user_id)
"""


def consumer_name() -> str:
    """This process's consumer name in the archiver group: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def journal_key(slot: int) -> str:
    """The journal stream of slot `slot`."""
    return slot_key(slot, JOURNAL)


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
        self._interval_s = settings.archive_interval_s
        self._full_pass_s = settings.archive_full_pass_s
        self._claim_idle_ms = int(settings.archive_claim_idle_s * 1000)
        self._groups: set[int] = set()
        self._archiving = asyncio.Lock()
        """One archive round at a time: two would read and write the same pending records."""
        self._unacknowledged: set[int] = set()
        """Slots where this consumer may hold records it read and did not acknowledge (a
        round failed, or records were claimed from a consumer that went away)."""
        self._done = runner.script((Path(__file__).parent / "journal_done.lua").read_text())
        self._trim = runner.script(script_source(TRIM_SCRIPT))
        self._window = str(settings.history_window)

    async def run(self) -> None:
        """Archive the slots this instance wrote to, forever: a round every
        `archive_interval_s`, or at once after a round that took longer."""
        started = time.monotonic()
        while True:
            await asyncio.sleep(max(0.0, started + self._interval_s - time.monotonic()))
            started = time.monotonic()
            slots = self._journal.take()
            if not slots:
                continue
            try:
                await self.archive(sorted(slots))
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._journal.put_back(slots)  # try them again next time
                _failures.failure("archiving the journal", error)
                await asyncio.sleep(1.0)

    async def drain(self) -> None:
        """At shutdown, once the loops have stopped: archive what this instance's scripts
        wrote since its last round. What does not make it within DRAIN_TIMEOUT_S (say,
        PostgreSQL is down) stays in the journal for the other instances' full pass."""
        slots = self._journal.take()
        if not slots:
            return
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                await self.archive(sorted(slots))
        except Exception as error:
            _failures.failure("archiving at shutdown", error)

    async def run_full_passes(self) -> None:
        """Every `archive_full_pass_s`, one instance of the deployment archives every slot."""
        await leased_passes(
            self._redis, lease_key=FULL_PASS_LEASE_KEY, holder=self._consumer,
            interval_s=self._full_pass_s, run_pass=self.full_pass,
            name="the archiver's full pass",
        )  # fmt: skip

    async def full_pass(self) -> int:
        """Claim records of gone consumers and archive every slot; returns records archived."""
        lengths: list[int] = await asyncio.gather(
            *(self._runner.call(("XLEN", journal_key(slot))) for slot in range(SLOTS))
        )
        self._metrics.journal_backlog = backlog = sum(lengths)
        expiry_ms = int(self._full_pass_s * 3000)
        await self._redis.set(BACKLOG_KEY, backlog, px=expiry_ms)
        waiting = [slot for slot, length in enumerate(lengths) if length]
        for slot in waiting:
            await self._claim_abandoned(slot)
        archived = 0
        for start in range(0, len(waiting), SLOTS_PER_ROUND):
            archived += await self.archive(waiting[start : start + SLOTS_PER_ROUND])
        await self._redis.set(BACKLOG_KEY, max(0, backlog - archived), px=expiry_ms)
        return archived

    async def archive(self, slots: list[int]) -> int:
        """Archive every record of these slots' journals this consumer can take: each
        round reads every slot at once and writes what it found in one transaction."""
        async with self._archiving:
            try:
                return await self._archive_slots(slots)
            except BaseException:
                self._unacknowledged.update(slots)
                raise

    async def _archive_slots(self, slots: list[int]) -> int:
        await asyncio.gather(*(self._ensure_group(slot) for slot in slots))
        archived = 0
        # First what this consumer read but did not acknowledge, then new records.
        pending = [slot for slot in slots if slot in self._unacknowledged]
        self._unacknowledged.difference_update(pending)
        for start, chosen in (("0", pending), (">", slots)):
            keys = [journal_key(slot) for slot in chosen]
            while keys:
                found = await asyncio.gather(*(self._read(key, start) for key in keys))
                batch = [
                    (key, records) for key, records in zip(keys, found, strict=True) if records
                ]
                if not batch:
                    break
                await self._archive(batch)
                archived += sum(len(records) for _, records in batch)
                keys = [key for key, records in batch if len(records) == BATCH]  # more there
        self._metrics.archived_records += archived
        return archived

    async def _read(self, key: str, start: str) -> list[tuple[str, list[str]]]:
        """Up to BATCH records of one journal: (id, [field, value, ...]) each."""
        reply = await self._runner.call(
            ("XREADGROUP", "GROUP", GROUP, self._consumer, "COUNT", BATCH, "STREAMS", key, start)
        )
        if not reply:
            return []
        records: list[tuple[str, list[str]]] = reply[0][1]
        return records

    async def _archive(self, batch: list[tuple[str, list[tuple[str, list[str]]]]]) -> None:
        """Write the records of several journals in one transaction, then forget them."""
        rows = Rows()
        oldest_ms = int(time.time() * 1000)
        decoded = 0
        for _, records in batch:
            for _, fields in records:
                if fields:  # a record deleted after it was read has none
                    rows.add(fields[1], fields[3], fields[5])  # k, u, d as written
                decoded += 1
                if decoded % DECODE_SLICE == 0:
                    await asyncio.sleep(0)  # let bets in between
            oldest_ms = min(oldest_ms, int(records[0][0].partition("-")[0]))
        async with self._pool.acquire() as connection:
            if not await rows.write(connection):
                self._metrics.archive_upserts += 1
        # PostgreSQL holds them now: forget them, and trim their users' history in Redis
        # to its recent window.
        await asyncio.gather(
            *(
                self._done(keys=[key], args=[GROUP, *(record_id for record_id, _ in records)])
                for key, records in batch
            ),
            self._trim_histories(sorted(rows.users_with_history())),
        )
        self._metrics.archive_lag_ms = max(0, int(time.time() * 1000) - oldest_ms)

    async def _trim_histories(self, users: list[str]) -> None:
        """Trim what PostgreSQL holds of these users' history (up to its highest ids)."""
        if not users:
            return
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(_ARCHIVED_UPTO, users)
        upto = {row["user_id"]: (row["entries"], row["bets"]) for row in rows}
        await asyncio.gather(*(self._trim_history(user, *upto.get(user, (0, 0))) for user in users))

    async def _trim_history(self, user_id: str, entries: int, bets: int) -> None:
        keys = UserKeys(user_id)
        await self._trim(
            keys=[keys.wallet, keys.ledger, keys.bets, keys.history],
            args=[self._window, TRIM_BUDGET, entries, bets],
        )

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
            if claimed:
                self._unacknowledged.add(slot)
            if start == "0-0" or not claimed:
                return
