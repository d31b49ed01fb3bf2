"""Ledger audits: replay users' ledgers against their stored balances.

`LedgerReplay` checks one user's entries fed in id order and has no I/O, so
the load test reuses it on entries read over HTTP. `audit_user` audits one
user from Redis in one atomic read; `audit_all` (the `croupier audit` command)
streams every user: SCAN for wallets, one atomic pipelined read of each
batch's wallets and ledger sizes, then the ledgers in id order with pipelined
HMGETs of bounded size, so memory stays flat however long a ledger is, and
ids are checked as they come. It lists every bet still open with its user.
With PostgreSQL it also reads the books there (`server.db.books`): the trial
balance, and the house's profit per game and currency by SQL, checked against
the postings; without it, the profit comes from the replay.
"""

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import asyncpg
from redis.asyncio import Redis

from server.config import Settings
from server.db.books import Books, HouseResult, read_books
from server.embedded_postgres import EmbeddedPostgres, running_postgres_pid
from server.embedded_redis import EmbeddedRedis, running_redis_pid
from server.redis_client import connect, is_cluster
from server.slots import group_by_slot
from server.wallet import LedgerEntry, UserKeys
from server.wallet.wallet import VERSION_FIELD

_ARCHIVED_BELOW = """
SELECT l.user_id, l.entry_id, l.type, l.amount, l.currency, l.game, l.ref, l.status,
       l.balance_after, l.created_at
FROM ledger_entries l
JOIN unnest($1::text[], $2::bigint[]) AS f(user_id, floor)
  ON l.user_id = f.user_id AND l.entry_id < f.floor
ORDER BY l.user_id, l.entry_id
"""

THEORETICAL_EDGE = Fraction(1, 100)
"""The house edge every game of chance is designed for (return to player 99%)."""
SKILL_GAMES = frozenset({"quiz"})
"""Games whose return depends on what the player knows: they have no theoretical edge."""
WALLET_PATTERN = "{u:*}:wallet"


@dataclass
class GameTally:
    """The house's side of one game in one currency (minor units)."""

    bets: int = 0
    """Settled bets."""
    wagered: int = 0
    """Stakes of the settled bets."""
    paid: int = 0
    """Wins and refunds paid for them."""
    open_bets: int = 0
    open_stakes: int = 0

    @property
    def held(self) -> int:
        """What the house holds from this game: its profit and the open stakes."""
        return self.wagered - self.paid + self.open_stakes

    def merge(self, other: "GameTally") -> None:
        self.bets += other.bets
        self.wagered += other.wagered
        self.paid += other.paid
        self.open_bets += other.open_bets
        self.open_stakes += other.open_stakes


Tallies = dict[tuple[str, str], GameTally]
"""(game, currency) -> tally."""


def theoretical_edge(game: str) -> Fraction | None:
    """The edge `game` is designed for; None for a game of skill."""
    return None if game in SKILL_GAMES else THEORETICAL_EDGE


@dataclass(frozen=True, slots=True)
class OpenBet:
    """A bet entry still open: a game in progress, or a bet a fault left open."""

    entry: int
    """Its ledger entry id, which is the bet's id."""
    ref: str | None
    """The entry's `ref`: the bet id again, or `crash:<round>` for Crash."""
    game: str | None
    amount: int
    """The stake (minor units)."""
    currency: str

    def describe(self) -> str:
        ref = "" if self.ref in (None, str(self.entry)) else f", ref {self.ref}"
        return f"open bet {self.entry} ({self.game}, {self.amount} {self.currency}{ref})"


@dataclass
class UserAudit:
    """What one user's ledger says against what their wallet holds."""

    user_id: str
    stored: dict[str, int]
    replayed: dict[str, int]
    version: int
    entries: int
    open_bets: list[OpenBet] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Discrepancies: each one fails the audit."""
    went_negative: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def findings(self) -> list[str]:
        """The problems, then the open bets (which alone do not fail the audit)."""
        return self.problems + [bet.describe() for bet in self.open_bets]


class LedgerReplay:
    """Checks one user's ledger entries, fed in id order, and tallies the games.

    Ids must run 1, 2, 3...; each entry's balance_after must follow from the
    entries before it; no balance may go below zero. After a gap in the ids
    the rest is not replayed (the gap is the problem reported).
    """

    def __init__(self, user_id: str, tallies: Tallies | None = None) -> None:
        self.user_id = user_id
        self.tallies: Tallies = {} if tallies is None else tallies
        self.running: Counter[str] = Counter()
        self.count = 0
        self.open_bets: list[OpenBet] = []
        self.problems: list[str] = []
        self.went_negative = False
        self._broken = False

    def feed(self, entry: LedgerEntry) -> None:
        if self._broken:
            return
        self.count += 1
        entry_id = entry["id"]
        if entry_id != self.count:
            self.problems.append(f"ledger id {entry_id} where {self.count} was expected")
            self._broken = True
            return
        if entry["user"] != self.user_id:
            self.problems.append(f"entry {entry_id} names user {entry['user']}")
        currency = entry["currency"]
        self.running[currency] += entry["amount"]
        if self.running[currency] != entry["balance_after"]:
            self.problems.append(f"entry {entry_id} balance_after does not follow the ledger")
        if self.running[currency] < 0:
            self.problems.append(f"entry {entry_id} leaves a negative balance")
            self.went_negative = True
        kind, status = entry["type"], entry["status"]
        if kind == "bet" and status == "open":
            self.open_bets.append(
                OpenBet(entry_id, entry["ref"], entry["game"], -entry["amount"], currency)
            )
        game = entry["game"]
        if game:
            self._tally(game, currency, kind, status, entry["amount"])

    def _tally(self, game: str, currency: str, kind: str, status: str, amount: int) -> None:
        tally = self.tallies.get((game, currency))
        if tally is None:
            tally = self.tallies[game, currency] = GameTally()
        if kind == "bet":
            if status == "settled":
                tally.bets += 1
                tally.wagered -= amount
            elif status == "open":
                tally.open_bets += 1
                tally.open_stakes -= amount
            # rolled_back bets and their "rollback" entries cancel out
        elif kind in ("win", "refund"):
            tally.paid += amount

    def missing_entry(self) -> None:
        """The next id has no entry."""
        if not self._broken:
            self.problems.append(f"ledger entry {self.count + 1} is missing")
            self._broken = True

    def finish(self, stored: dict[str, int], version: int, entries: int) -> UserAudit:
        """Compare with the wallet: balances per currency, and `entries` against `version`."""
        replayed = dict(self.running)
        audit = UserAudit(
            self.user_id, stored, replayed, version, entries, self.open_bets, self.problems
        )
        audit.went_negative = self.went_negative
        if entries != version:
            audit.problems.append(f"{entries} ledger entries for version {version}")
        for currency in sorted(set(stored) | set(replayed)):
            if stored.get(currency, 0) != replayed.get(currency, 0):
                audit.problems.append(
                    f"{currency}: stored {stored.get(currency, 0)},"
                    f" ledger {replayed.get(currency, 0)}"
                )
            if stored.get(currency, 0) < 0:
                audit.went_negative = True
                audit.problems.append(f"{currency}: negative balance {stored[currency]}")
        return audit


def _wallet(raw: dict[str, str]) -> tuple[dict[str, int], int]:
    """Balances and version from a wallet hash."""
    version = int(raw.pop(VERSION_FIELD, 0))
    return {code: int(value) for code, value in raw.items()}, version


async def audit_user(redis: Redis, user_id: str, database: asyncpg.Pool | None = None) -> UserAudit:
    """Replay one user's ledger (Redis read atomically; the entries below its history
    floor from PostgreSQL); `problems` lists every discrepancy."""
    keys = UserKeys(user_id)
    async with redis.pipeline(transaction=True) as pipe:
        wallet, ledger, floor = await (
            pipe.hgetall(keys.wallet).hgetall(keys.ledger).hget(keys.history, "floor").execute()
        )
    stored, version = _wallet(wallet)
    replay = LedgerReplay(user_id)
    floor = int(floor or 1)
    if floor > 1:
        archived = await _archived_below(database, [user_id], [floor])
        for entry in archived.get(user_id, []):
            replay.feed(entry)
    recent = (json.loads(raw) for raw in ledger.values())
    for entry in sorted((e for e in recent if e["id"] >= floor), key=lambda e: e["id"]):
        replay.feed(entry)
    return replay.finish(stored, version, len(ledger) if floor == 1 else replay.count)


async def _archived_below(
    database: asyncpg.Pool | None, users: list[str], floors: list[int]
) -> dict[str, list[LedgerEntry]]:
    """Each user's archived entries below its floor, in id order."""
    if database is None:
        raise SystemExit("part of the ledger is in PostgreSQL only: set DATABASE_URL")
    rows = await database.fetch(_ARCHIVED_BELOW, users, floors)
    found: dict[str, list[LedgerEntry]] = {}
    for row in rows:
        found.setdefault(row["user_id"], []).append(
            LedgerEntry(
                id=row["entry_id"], user=row["user_id"], type=row["type"],
                amount=row["amount"], currency=row["currency"], game=row["game"],
                ref=row["ref"], status=row["status"], balance_after=row["balance_after"],
                created_at=row["created_at"],
            )
        )  # fmt: skip
    return found


@dataclass
class AuditReport:
    """The audit of every user."""

    users: int = 0
    entries: int = 0
    failed: list[UserAudit] = field(default_factory=list)
    """Users with problems."""
    flagged: list[UserAudit] = field(default_factory=list)
    """Users with problems or open bets, in audit order."""
    negative: int = 0
    """Users whose balance is or went below zero."""
    open_bets: int = 0
    users_with_open_bets: int = 0
    tallies: Tallies = field(default_factory=dict)
    """The house's side per game and currency, from the replay."""
    books: Books | None = None
    """PostgreSQL's books, when the ledger is archived there."""
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and not (self.books and self.books.problems())

    def house(self) -> list[HouseResult]:
        """The house's result per game and currency: from the books, else from the replay."""
        if self.books is not None:
            return self.books.house
        return [
            HouseResult(game, currency, t.bets, t.wagered, t.paid, t.held, t.open_stakes)
            for (game, currency), t in sorted(self.tallies.items())
        ]

    def add(self, audit: UserAudit) -> None:
        self.users += 1
        self.entries += audit.entries
        if audit.problems:
            self.failed.append(audit)
        if audit.problems or audit.open_bets:
            self.flagged.append(audit)
        self.negative += audit.went_negative
        self.open_bets += len(audit.open_bets)
        self.users_with_open_bets += bool(audit.open_bets)

    def to_dict(self, show: int) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "users": self.users,
            "entries": self.entries,
            "elapsed_s": round(self.elapsed_s, 3),
            "mismatched_users": len(self.failed),
            "negative_balances": self.negative,
            "open_bets": self.open_bets,
            "users_with_open_bets": self.users_with_open_bets,
            "trial_balance": self.books.trial_balance if self.books else None,
            "books_problems": self.books.problems() if self.books else None,
            "house_from": "postgresql" if self.books else "replay",
            "games": [
                {
                    "game": line.game,
                    "currency": line.currency,
                    "bets": line.bets,
                    "wagered": line.wagered,
                    "paid": line.paid,
                    "profit": line.profit,
                    "edge": line.edge,
                    "theoretical_edge": _as_float(theoretical_edge(line.game)),
                    "open_stakes": line.open_stakes,
                }
                for line in self.house()
            ],
            "problems": {audit.user_id: audit.findings() for audit in self.flagged[:show]},
        }


def _as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


async def audit_all(
    redis: Redis,
    *,
    batch: int = 500,
    chunk: int = 1000,
    database: asyncpg.Pool | None = None,
) -> AuditReport:
    """Audit every user with a wallet, `batch` users and at most `chunk` entries per HMGET;
    the entries below a user's history floor come from `database`."""
    started = time.perf_counter()
    report = AuditReport()
    seen: set[str] = set()  # SCAN may return a key twice
    users: list[str] = []
    async for key in redis.scan_iter(match=WALLET_PATTERN, count=1000):
        user_id = key[3 : key.index("}")]
        if user_id in seen:
            continue
        seen.add(user_id)
        users.append(user_id)
        if len(users) >= batch:
            await _audit_batch(redis, database, users, chunk, report)
            users = []
    if users:
        await _audit_batch(redis, database, users, chunk, report)
    if database is not None:
        report.books = await read_books(database)
    report.elapsed_s = time.perf_counter() - started
    return report


async def _audit_batch(
    redis: Redis,
    database: asyncpg.Pool | None,
    users: list[str],
    chunk: int,
    report: AuditReport,
) -> None:
    # Wallets and ledger sizes read atomically per user: entries 1..version never
    # change amount later, so the replay is consistent even on a live server.
    raw = await _read_wallets(redis, users)
    wallets = [_wallet(wallet) for wallet in raw[0::3]]
    sizes: list[int] = raw[1::3]
    floors = [int(floor or 1) for floor in raw[2::3]]
    replays = [LedgerReplay(user_id, report.tallies) for user_id in users]
    trimmed = [i for i, floor in enumerate(floors) if floor > 1]
    if trimmed:
        archived = await _archived_below(
            database, [users[i] for i in trimmed], [floors[i] for i in trimmed]
        )
        for i in trimmed:
            for entry in archived.get(users[i], []):
                replays[i].feed(entry)
    next_id = floors
    pending = [i for i, (_, version) in enumerate(wallets) if version > 0]
    while pending:  # rounds of at most 8 chunks of entries per round trip
        requests: list[tuple[int, int]] = []
        budget = 8 * chunk
        async with redis.pipeline(transaction=False) as pipe:
            for i in pending:
                if budget <= 0:
                    break
                first, version = next_id[i], wallets[i][1]
                last = min(version, first + min(chunk, budget) - 1)
                pipe.hmget(UserKeys(users[i]).ledger, [str(n) for n in range(first, last + 1)])
                requests.append((i, last))
                budget -= last - first + 1
            results = await pipe.execute()
        for (i, last), values in zip(requests, results, strict=True):
            _feed(replays[i], values)
            next_id[i] = last + 1
        pending = [i for i in pending if next_id[i] <= wallets[i][1]]
    for replay, (stored, version), size, floor in zip(replays, wallets, sizes, floors, strict=True):
        report.add(replay.finish(stored, version, size if floor == 1 else replay.count))


async def _read_wallets(redis: Redis, users: list[str]) -> list[Any]:
    """Each user's wallet, ledger size and history floor (three replies per user, in
    order), each user's read atomic: one transaction for the batch on one Redis, one
    per slot on a cluster, where a transaction touches one slot."""
    everyone = [list(range(len(users)))]
    groups = group_by_slot([UserKeys(u).wallet for u in users]) if is_cluster(redis) else everyone
    replies = await asyncio.gather(*(_read_group(redis, [users[i] for i in g]) for g in groups))
    raw: list[Any] = [None] * (3 * len(users))
    for group, reply in zip(groups, replies, strict=True):
        for n, i in enumerate(group):
            raw[3 * i : 3 * i + 3] = reply[3 * n : 3 * n + 3]
    return raw


async def _read_group(redis: Redis, users: list[str]) -> list[Any]:
    async with redis.pipeline(transaction=True) as pipe:
        for user_id in users:
            keys = UserKeys(user_id)
            pipe.hgetall(keys.wallet).hlen(keys.ledger).hget(keys.history, "floor")
        replies: list[Any] = await pipe.execute()
        return replies


def _feed(replay: LedgerReplay, values: Iterable[str | None]) -> None:
    for raw in values:
        if raw is None:
            replay.missing_entry()
        else:
            replay.feed(json.loads(raw))


def format_report(report: AuditReport, show: int) -> str:
    """The audit as text for people."""
    rate = report.entries / report.elapsed_s if report.elapsed_s else 0.0
    lines = [
        f"audited {report.users:,} users, {report.entries:,} ledger entries"
        f" in {report.elapsed_s:.2f} s ({rate:,.0f} entries/s)",
        f"balance mismatches: {len(report.failed):,} users",
        f"negative balances: {report.negative:,} users",
        f"open bets (games in progress, or left open by a fault): {report.open_bets:,}"
        f" in {report.users_with_open_bets:,} users",
    ]
    if report.books is not None:
        sums = ", ".join(f"{code} {total:,}" for code, total in report.books.trial_balance.items())
        lines.append(f"trial balance of the PostgreSQL postings (0 when they balance): {sums}")
        lines += [f"books: {problem}" for problem in report.books.problems()]
    house = report.house()
    if house:
        source = "PostgreSQL" if report.books is not None else "the replay"
        lines.append(f"house profit by game and currency (minor units, settled bets; {source}):")
        header = ("game", "currency", "bets", "wagered", "paid", "profit", "edge", "theory")
        rows = [header]
        for line in house:
            edge = f"{line.edge:.3%}" if line.edge is not None else "-"
            theory = theoretical_edge(line.game)
            rows.append(
                (line.game, line.currency, f"{line.bets:,}", f"{line.wagered:,}",
                 f"{line.paid:,}", f"{line.profit:,}", edge,
                 "skill game" if theory is None else f"{float(theory):.3%}")
            )  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
            lines.append("  " + "  ".join(cells))
    for audit in report.flagged[:show]:
        findings = audit.findings()
        more = f"; ... {len(findings) - 5} more" if len(findings) > 5 else ""
        lines.append(f"user {audit.user_id}: " + "; ".join(findings[:5]) + more)
    if len(report.flagged) > show:
        lines.append(
            f"... and {len(report.flagged) - show:,} more users with problems or open bets"
        )
    lines.append("OK" if report.ok else "FAILED")
    return "\n".join(lines)


async def _run_audit(settings: Settings, batch: int, chunk: int) -> AuditReport:
    """Audit REDIS_URL, else the embedded Redis of the data directory."""
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if url is None:
        data_dir = settings.data_dir.resolve()
        socket = data_dir / "redis.sock"
        if running_redis_pid(data_dir / "redis.pid") is not None:
            if not socket.exists():
                raise SystemExit(f"the Redis of {data_dir} listens on TCP: set REDIS_URL")
            url = f"unix://{socket}"  # the running server's Redis: read it, never stop it
        elif not data_dir.is_dir():
            raise SystemExit(f"no data directory {data_dir}: set REDIS_URL or CROUPIER_DATA_DIR")
        else:
            embedded = EmbeddedRedis(data_dir, settings.appendfsync)
            url = await embedded.start()
    redis = connect(url, 4)
    database_url = settings.database_url
    postgres: EmbeddedPostgres | None = None
    if database_url is None:
        local = EmbeddedPostgres(settings.data_dir)
        if running_postgres_pid(local.pgdata / "postmaster.pid") is not None:
            socket_dir = local.directory  # the running server's: read it, never stop it
            database_url = f"postgresql://postgres@/croupier?host={socket_dir}&port=5432"
        elif (local.pgdata / "PG_VERSION").exists():
            postgres = local
            database_url = await postgres.start()
    database = (
        await asyncpg.create_pool(database_url, min_size=1, max_size=2) if database_url else None
    )
    try:
        return await audit_all(redis, batch=batch, chunk=chunk, database=database)
    finally:
        await redis.aclose()
        if database is not None:
            await database.close()
        if postgres is not None:
            await postgres.stop()
        if embedded is not None:
            await embedded.stop()


def audit_command(argv: list[str]) -> int:
    """`croupier audit`: exit status 0 when every ledger matches, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="croupier audit",
        description="Replay every user's ledger against the stored balance (REDIS_URL, else"
        " the embedded Redis of CROUPIER_DATA_DIR); report mismatches, negative balances,"
        " open bets and the house's profit per game and currency.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--show", type=int, default=20, help="users with problems to list (20)")
    parser.add_argument("--batch", type=int, default=500, help="users per round trip (500)")
    parser.add_argument("--chunk", type=int, default=1000, help="entries per HMGET (1000)")
    args = parser.parse_args(argv)
    report = asyncio.run(_run_audit(Settings(), args.batch, args.chunk))
    if args.json:
        print(json.dumps(report.to_dict(args.show), indent=2))
    else:
        print(format_report(report, args.show))
    sys.stdout.flush()
    return 0 if report.ok else 1
