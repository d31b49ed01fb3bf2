"""Money of a round: every bet record closes in the wallet exactly once.

The record's final status says what to do: CASHED settles the payout, LOST
settles 0, VOID and LATE refund the stake. Each wallet call carries a key of
the round (`crash:<round>:settle`, `crash:<round>:refund`) and the wallet's
settle and rollback are compare-and-set on the bet entry being open, so the
leader, a player's cashout and a new leader after a failover may all close the
same bet: the first call moves the money, the others replay its result.

Once a round has crashed, every bet that played it (cashed out or lost) gets
its public record in the player's bet history and the live feed, with the
round's hash and point; a voided or unplayed bet was refunded and gets none.
"""

import asyncio
import logging
import time
from typing import Any

from server.bets.service import BetService
from server.crash.records import Bet, BetStatus, show
from server.errors import CroupierError
from server.wallet import Movement, Wallet

log = logging.getLogger(__name__)

GAME = "crash"


def bet_ref(round_id: int) -> str:
    """The ledger `ref` of a round's entries."""
    return f"{GAME}:{round_id}"


def client_key(key: str) -> str:
    """A client's idempotency key, kept apart from the server's keys."""
    return f"client:{key}"


def settle_key(round_id: int) -> str:
    return f"{GAME}:{round_id}:settle"


def refund_key(round_id: int) -> str:
    return f"{GAME}:{round_id}:refund"


class Settlement:
    """Closes bets in the wallet as their round records say."""

    def __init__(self, wallet: Wallet, bets: BetService, concurrency: int = 16) -> None:
        self._wallet = wallet
        self._bets = bets
        self._slots = asyncio.Semaphore(concurrency)
        """Bounds the wallet calls in flight, leaving Redis connections to the ticks."""

    async def close(self, round_id: int, bet: Bet) -> Movement | None:
        """The wallet move of a closed record; None if an unplayed bet was never debited."""
        async with self._slots:
            if bet.status is BetStatus.CASHED:
                return await self._wallet.settle(
                    bet.user, bet.tx, bet.payout, key=settle_key(round_id)
                )
            if bet.status is BetStatus.LOST:
                return await self._wallet.settle(bet.user, bet.tx, 0, key=settle_key(round_id))
            if bet.status is BetStatus.VOID:
                return await self._wallet.rollback(
                    bet.user, bet.tx, key=refund_key(round_id), kind="refund"
                )
            if bet.status in (BetStatus.LATE, BetStatus.PENDING):
                return await self._refund_unplayed(round_id, bet)
        raise ValueError(f"bet of {bet.user} in round {round_id} is still open")

    async def close_all(self, round_id: int, bets: list[Bet]) -> None:
        """Close every bet of a finished round; a bet the wallet refuses is logged."""
        results = await asyncio.gather(
            *(self.close(round_id, bet) for bet in bets), return_exceptions=True
        )
        for bet, result in zip(bets, results, strict=True):
            if isinstance(result, CroupierError | ValueError):
                log.error("crash round %d: bet of %s not closed: %s", round_id, bet.user, result)
            elif isinstance(result, BaseException):
                raise result

    async def record_all(self, round_id: int, bets: list[Bet], point: int, round_hash: str) -> None:
        """Store the record of every bet that played the crashed round (once each)."""
        now = int(time.time() * 1000)

        async def store(bet: Bet) -> None:
            async with self._slots:
                record = bet_record(bet, round_id, point, round_hash, now)
                await self._bets.record(bet.user, bet.name, record)

        played = [bet for bet in bets if bet.status in (BetStatus.CASHED, BetStatus.LOST)]
        await asyncio.gather(*(store(bet) for bet in played))

    async def _refund_unplayed(self, round_id: int, bet: Bet) -> Movement | None:
        """Refund a bet that never played, whether or not its debit happened.

        Its debit is replayed with the player's key: a replay returns the entry
        if it was debited; if not, it is debited now (the refund follows at once)
        or refused, and then nothing was taken.
        """
        try:
            debit = await self._wallet.debit(
                bet.user, bet.amount, bet.currency,
                key=client_key(bet.key), game=GAME, ref=bet_ref(round_id),
            )  # fmt: skip
        except CroupierError:
            return None
        assert debit.tx is not None
        return await self._wallet.rollback(
            bet.user, debit.tx["id"], key=refund_key(round_id), kind="refund"
        )


def bet_record(bet: Bet, round_id: int, point: int, round_hash: str, now: int) -> dict[str, Any]:
    """The public record of a bet that played a crashed round (point x100)."""
    cashed = bet.status is BetStatus.CASHED
    return {
        "id": bet.tx,
        "game": GAME,
        "amount": bet.amount,
        "currency": bet.currency,
        "params": {"auto_cashout": show(bet.auto) if bet.auto else None},
        "multiplier": show(bet.mult) if cashed else "0.00",
        "payout": bet.payout if cashed else 0,
        "outcome": {"round": round_id, "point": show(point), "hash": round_hash},
        "server_seed_hash": None,
        "client_seed": None,
        "nonce": None,
        "created_at": now,
        "settled_at": now,
    }
