"""A batch of journal records as rows of the archive's tables, and how it is written.

The records are decoded here (orjson) into one list of rows per table; the
columns of each table are named once, in `Table`. A batch is written in one
transaction by `COPY` (PostgreSQL's bulk path). A row that exists already makes
`COPY` fail with a unique violation: a batch written again after a crash
between its commit and its acknowledgement, or a bet entry archived `open` and
settled since. The batch is then written again, in a new transaction, by one
`INSERT ... SELECT FROM unnest(...) ON CONFLICT` per table: a row written before
changes nothing, except that a ledger entry still `open` takes its new status.
"""

from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from server.db.migrate import Connection

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """An archive table: its columns (name, SQL type) and what a conflicting row does."""

    name: str
    columns: tuple[tuple[str, str], ...]
    on_conflict: str
    names: tuple[str, ...] = field(init=False)
    upsert: str = field(init=False)
    """INSERT of the rows given as one array per column, with `on_conflict`."""

    def __post_init__(self) -> None:
        names = tuple(name for name, _ in self.columns)
        arrays = ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(self.columns, 1))
        upsert = (
            f"INSERT INTO {self.name} ({', '.join(names)})"
            f" SELECT * FROM unnest({arrays}) ON CONFLICT {self.on_conflict}"
        )
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "upsert", upsert)


USERS = Table(
    "users",
    (("id", "text"), ("name", "text"), ("kind", "text"), ("password_hash", "text"),
     ("created_at", "bigint")),
    # A guest becomes registered (an upgrade journals the account again); nothing else changes.
    "(id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
    " password_hash = EXCLUDED.password_hash"
    " WHERE users.kind = 'guest' AND EXCLUDED.kind = 'registered'",
)  # fmt: skip
LEDGER_ENTRIES = Table(
    "ledger_entries",
    (("user_id", "text"), ("entry_id", "bigint"), ("type", "text"), ("amount", "bigint"),
     ("currency", "text"), ("game", "text"), ("ref", "text"), ("status", "text"),
     ("balance_after", "bigint"), ("created_at", "bigint")),
    # A status only moves forward: `open` to `settled` or `rolled_back`.
    "(user_id, entry_id) DO UPDATE SET status = EXCLUDED.status"
    " WHERE ledger_entries.status = 'open'",
)  # fmt: skip
POSTINGS = Table(
    "postings",
    (("user_id", "text"), ("entry_id", "bigint"), ("account", "text"), ("currency", "text"),
     ("amount", "bigint")),
    "DO NOTHING",
)  # fmt: skip
BETS = Table(
    "bets",
    (("user_id", "text"), ("bet_id", "bigint"), ("game", "text"), ("currency", "text"),
     ("amount", "bigint"), ("payout", "bigint"), ("server_seed_hash", "text"),
     ("record", "jsonb"), ("created_at", "bigint"), ("settled_at", "bigint")),
    "DO NOTHING",
)  # fmt: skip
REVEALED_SEEDS = Table(
    "revealed_seeds",
    (("user_id", "text"), ("server_seed_hash", "text"), ("server_seed", "text"),
     ("client_seed", "text"), ("next_nonce", "bigint"), ("revealed_at", "bigint")),
    "DO NOTHING",
)  # fmt: skip
CRASH_ROUNDS = Table(
    "crash_rounds",
    (("chain", "text"), ("id", "bigint"), ("hash", "text"), ("point_x100", "bigint"),
     ("voided", "boolean"), ("crashed_at", "bigint"), ("totals", "jsonb")),
    "DO NOTHING",
)  # fmt: skip

LIMIT_CHANGES = Table(
    "limit_changes",
    (("user_id", "text"), ("seq", "bigint"), ("actor", "text"), ("changed_at", "bigint"),
     ("setting", "text"), ("old_value", "text"), ("new_value", "text"),
     ("effective_at", "bigint")),
    "DO NOTHING",
)  # fmt: skip

TREASURY_TYPES = frozenset({"deposit", "adjust"})
"""Entry types whose opposite posting goes to the treasury; the others' to the house."""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Rows:
    """The rows a batch of journal records makes, one list per table, each row once (a
    tuple in the order of its table's `columns`)."""

    def __init__(self) -> None:
        self._users: dict[str, Row] = {}
        self._entries: dict[tuple[str, int], Row] = {}
        self._bets: dict[tuple[str, int], Row] = {}
        self._seeds: dict[tuple[str, str], Row] = {}
        self._rounds: dict[tuple[str, int], Row] = {}
        self._limit_changes: dict[tuple[str, int], Row] = {}

    def add(self, kind: str, user: str, data: str) -> None:
        """Add one journal record, in journal order: kind `records` (a script's ledger
        entries, bet records or limit changes, an array of {"k", "d"}), `entry` or `bet`
        (one of them alone), `seed`, `user` (an account) or `round` (a finished Crash round, no
        user), its user and its JSON."""
        if kind == "records":
            for record in orjson.loads(data):
                self._add_record(record["k"], user, record["d"])
        elif kind in ("entry", "bet"):
            self._add_record(kind, user, orjson.loads(data))
        elif kind == "seed":
            s = orjson.loads(data)
            self._seeds.setdefault(
                (user, s["server_seed_hash"]),
                (user, s["server_seed_hash"], s["server_seed"], s["client_seed"], s["nonce"],
                 s["revealed_at"]),
            )  # fmt: skip
        elif kind == "user":
            a = orjson.loads(data)
            if a["id"] not in self._users or a["kind"] == "registered":
                self._users[a["id"]] = (
                    a["id"], a["name"], a["kind"], a.get("password_hash"), a["created_at"]
                )  # fmt: skip
        elif kind == "round":
            r = orjson.loads(data)
            self._rounds.setdefault(
                (r["chain"], r["id"]),
                (r["chain"], r["id"], r["hash"], r["point_x100"], r["voided"], r["crashed_at"],
                 _json(r["totals"])),
            )  # fmt: skip
        else:
            raise ValueError(f"unknown journal record kind {kind!r}")

    def _add_record(self, kind: str, user: str, d: dict[str, Any]) -> None:
        if kind == "entry":  # journaled twice (opened, then settled): its last form
            self._entries[d["user"], d["id"]] = (
                d["user"], d["id"], d["type"], d["amount"], d["currency"], d.get("game"),
                d.get("ref"), d["status"], d["balance_after"], d["created_at"],
            )  # fmt: skip
        elif kind == "limit":
            self._limit_changes.setdefault(
                (d["user"], d["seq"]),
                (d["user"], d["seq"], d["actor"], d["changed_at"], d["setting"], d["old"],
                 d["new"], d["effective_at"]),
            )  # fmt: skip
        elif kind == "bet":
            self._bets.setdefault(
                (user, d["id"]),
                (user, d["id"], d["game"], d["currency"], d["amount"], d["payout"],
                 d.get("server_seed_hash"), _json(d), d["created_at"], d["settled_at"]),
            )  # fmt: skip
        else:
            raise ValueError(f"unknown journal record kind {kind!r}")

    def users_with_history(self) -> set[str]:
        """The users with ledger entries or bet records in the batch."""
        return {user for user, _ in self._entries} | {user for user, _ in self._bets}

    def tables(self) -> list[tuple[Table, list[Row]]]:
        """Every table with rows to write, and its rows."""
        entries = list(self._entries.values())
        # Double entry: the player's account, and the opposite on the house (bets, wins,
        # refunds, rollbacks) or the treasury (deposits and adjustments).
        postings = [
            posting
            for user, entry_id, kind, amount, currency, *_ in entries
            for posting in (
                (user, entry_id, "player", currency, amount),
                (user, entry_id, "treasury" if kind in TREASURY_TYPES else "house",
                 currency, -amount),
            )
        ]  # fmt: skip
        found = [
            (USERS, list(self._users.values())),
            (LEDGER_ENTRIES, entries),
            (POSTINGS, postings),
            (BETS, list(self._bets.values())),
            (REVEALED_SEEDS, list(self._seeds.values())),
            (CRASH_ROUNDS, list(self._rounds.values())),
            (LIMIT_CHANGES, list(self._limit_changes.values())),
        ]
        return [(table, rows) for table, rows in found if rows]

    async def write(self, connection: Connection) -> bool:
        """Write every row in one transaction: by COPY, else (a row was there) by upserts,
        so a row written again changes nothing. Returns whether COPY did it."""
        tables = self.tables()
        try:
            async with connection.transaction():
                for table, rows in tables:
                    await connection.copy_records_to_table(
                        table.name, records=rows, columns=table.names
                    )
            return True
        except asyncpg.UniqueViolationError:
            pass
        async with connection.transaction():
            for table, rows in tables:
                await connection.execute(table.upsert, *zip(*rows, strict=True))
        return False
