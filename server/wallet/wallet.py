"""The wallet: every balance change is one atomic Lua script.

Each script checks everything first, then moves the balance, appends the
ledger entry (its id is the user's new version number), stores the result
under the operation's idempotency key and publishes the `balance` event, all
in one atomic step. Python never reads a balance to write it back.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypedDict, cast

import asyncpg
import orjson
from redis.asyncio import Redis

from server.config import MAX_AMOUNT
from server.errors import CroupierError, ErrorCode, script_error
from server.limits.context import LimitContexts
from server.limits.periods import Clock
from server.redis_scripts import Script
from server.wallet.journal import Journal
from server.wallet.keys import UserKeys
from server.wallet.scripts import WalletScripts
from server.wallet.window import window_page

_ARCHIVED_ENTRIES = """
SELECT entry_id, user_id, type, amount, currency, game, ref, status, balance_after, created_at
FROM ledger_entries
WHERE user_id = $1 AND entry_id < $2 AND ($3::text IS NULL OR game = $3)
ORDER BY entry_id DESC LIMIT $4
"""

DebitKind = Literal["bet", "adjust"]
CreditKind = Literal["win", "refund", "deposit", "adjust"]
RollbackKind = Literal["rollback", "refund"]

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
GAME_NAME = re.compile(r"^[a-z0-9_\-]{1,32}$")
VERSION_FIELD = "version"


class LedgerEntry(TypedDict):
    """One line of a user's ledger, as stored and as sent to clients."""

    id: int
    user: str
    type: str
    amount: int
    currency: str
    game: str | None
    ref: str | None
    status: str
    balance_after: int
    created_at: int


@dataclass(frozen=True, slots=True)
class Movement:
    """What a wallet operation did (or, if `replayed`, did the first time)."""

    tx: LedgerEntry | None
    balance: int
    version: int
    replayed: bool
    bet: LedgerEntry | None = None


@dataclass(frozen=True, slots=True)
class Balances:
    """A consistent snapshot of one user's balances."""

    balances: dict[str, int]
    version: int


def check_amount(value: object, field: str = "amount") -> int:
    """An amount in minor units: an int (not a bool) in [1, 2**53-1]."""
    if type(value) is not int or not 1 <= value <= MAX_AMOUNT:
        raise CroupierError(
            ErrorCode.INVALID_AMOUNT,
            f"{field} must be an integer number of minor units in [1, {MAX_AMOUNT}]",
            field,
        )
    return value


def check_key(key: str) -> str:
    """An idempotency key: 1-128 characters of [A-Za-z0-9_.:-]."""
    if not IDEMPOTENCY_KEY.match(key):
        raise CroupierError(ErrorCode.BAD_REQUEST, "key must be 1-128 of [A-Za-z0-9_.:-]", "key")
    return key


class Wallet:
    """One wallet per user, shared by every game, in minor units per currency."""

    def __init__(
        self,
        redis: Redis,
        scripts: WalletScripts,
        idempotency_ttl_s: int,
        currencies: Iterable[str] = (),
        *,
        journal: Journal | None = None,
        database: asyncpg.Pool | None = None,
        limits: LimitContexts | None = None,
    ) -> None:
        """`currencies`: reported by `balances` (at 0) even where a user never had any;
        `journal`: marks the journals written for the archiver and bounds new bets (None:
        not archived from this process); `database`: where history older than Redis keeps
        is read; `limits`: the limits context of each call (default: the server's clock)."""
        self._redis = redis
        self._limits = limits or LimitContexts(Clock())
        self._journal = journal
        self._database = database
        self._scripts = scripts
        self._ttl = str(idempotency_ttl_s)
        self._zero = dict.fromkeys(currencies, 0)

    async def balances(self, user: str) -> Balances:
        """Current balances and version (one atomic HGETALL)."""
        raw: dict[str, str] = await self._redis.hgetall(UserKeys(user).wallet)
        version = int(raw.pop(VERSION_FIELD, 0))
        return Balances(self._zero | {code: int(value) for code, value in raw.items()}, version)

    async def debit(
        self,
        user: str,
        amount: int,
        currency: str,
        *,
        key: str,
        game: str = "",
        ref: str = "",
        kind: DebitKind = "bet",
    ) -> Movement:
        """Take `amount`; INSUFFICIENT_FUNDS unless the balance covers it.

        A `bet` debit opens a bet (status "open") for `settle` or `rollback`; it is refused
        with UNAVAILABLE while the journal waits on PostgreSQL at its bound.
        """
        if kind == "bet" and self._journal is not None:
            await self._journal.check_room()
        args = [user, currency, str(check_amount(amount)), kind, game, ref]
        return await self._run(self._scripts.debit, user, key, args)

    async def credit(
        self,
        user: str,
        amount: int,
        currency: str,
        *,
        key: str,
        kind: CreditKind,
        game: str = "",
        ref: str = "",
    ) -> Movement:
        """Add `amount` as a win, refund, deposit or adjustment."""
        args = [user, currency, str(check_amount(amount)), kind, game, ref]
        return await self._run(self._scripts.credit, user, key, args)

    async def settle(self, user: str, bet_id: int, payout: int, *, key: str) -> Movement:
        """Close an open bet, paying `payout` (0 for a loss) as a `win` entry."""
        if payout != 0:
            check_amount(payout, "payout")
        return await self._run(self._scripts.settle, user, key, [user, str(bet_id), str(payout)])

    async def rollback(
        self, user: str, tx_id: int, *, key: str, kind: RollbackKind = "rollback"
    ) -> Movement:
        """Reverse an open bet: give the stake back and mark the bet `rolled_back`.

        The new entry's type is `rollback`, or `refund` for a round the house voided.
        """
        return await self._run(self._scripts.rollback, user, key, [user, str(tx_id), kind])

    async def transactions(
        self, user: str, *, limit: int = 50, before: int | None = None, game: str | None = None
    ) -> list[LedgerEntry]:
        """Ledger entries newest first, with ids below `before`, of one game if given: the
        recent ones from Redis, older ones (below the history floor) from PostgreSQL."""
        keys = UserKeys(user)
        entries: list[LedgerEntry] = []
        if game is None:  # ids run 1, 2, 3...: read just the page
            floor = int(await self._redis.hget(keys.history, "floor") or 1)
            top = before - 1 if before is not None else await self._version(keys)
            ids = range(top, max(top - limit, floor - 1), -1)
            raw = await self._redis.hmget(keys.ledger, [str(i) for i in ids]) if ids else []
            for entry_id, entry in zip(ids, raw, strict=True):
                if entry is None:  # trimmed since the floor was read: PostgreSQL has it
                    floor = entry_id + 1
                    break
                entries.append(orjson.loads(entry))
        else:
            pipe = self._redis.pipeline(transaction=True)
            stored_floor, stored = (
                await pipe.hget(keys.history, "floor").hgetall(keys.ledger).execute()
            )
            floor = int(stored_floor or 1)
            entries = cast(list[LedgerEntry], window_page(stored, floor, before, limit, game))
        missing = limit - len(entries)
        if missing > 0 and floor > 1 and self._database is not None:
            below = floor if before is None else min(floor, before)
            entries += await archived_entries(self._database, user, below, missing, game)
        return entries

    async def _version(self, keys: UserKeys) -> int:
        value = await self._redis.hget(keys.wallet, VERSION_FIELD)
        return int(value or 0)

    async def _run(self, script: Script, user: str, key: str, args: list[str]) -> Movement:
        keys = UserKeys(user)
        redis_keys = [
            keys.wallet, keys.ledger, keys.idempotency(check_key(key)), keys.journal, keys.limits,
        ]  # fmt: skip
        reply = await self._limits.run(script, user, redis_keys, [*args, self._ttl, keys.events])
        if self._journal is not None:
            self._journal.wrote(user)
        status = reply[0]
        if status not in ("ok", "replay"):
            raise script_error(reply)
        result = orjson.loads(reply[1])
        return Movement(
            tx=result["tx"],
            balance=result["balance"],
            version=result["version"],
            replayed=status == "replay",
            bet=result.get("bet"),
        )


async def archived_entries(
    database: asyncpg.Pool, user: str, below: int, limit: int, game: str | None = None
) -> list[LedgerEntry]:
    """Ledger entries of `user` from PostgreSQL with ids below `below`, newest first."""
    rows = await database.fetch(_ARCHIVED_ENTRIES, user, below, game, limit)
    return [
        LedgerEntry(
            id=row["entry_id"], user=row["user_id"], type=row["type"], amount=row["amount"],
            currency=row["currency"], game=row["game"], ref=row["ref"], status=row["status"],
            balance_after=row["balance_after"], created_at=row["created_at"],
        )
        for row in rows
    ]  # fmt: skip
