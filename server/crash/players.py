"""What players do: bet in BETTING, cash out in RUNNING (any instance serves them).

A bet takes three steps, because the round's keys and the user's wallet keys
live in different Redis Cluster slots: reserve the user's one place in the
round (a 'pending' record), debit the wallet with the player's key, confirm
(the record opens). A refused debit releases the place; a confirm that comes
after the round started is refused and the debit refunded. A step whose outcome
is unknown (a lost connection) leaves a pending record, which the start of the
round marks 'late' and the leader refunds after the crash; a retry with the
same key resumes the same bet.
"""

from decimal import Decimal
from typing import Any

from server.auth import Account
from server.crash.events import players_frame
from server.crash.records import Bet, hundredths, show
from server.crash.settlement import GAME, Settlement, bet_ref, client_key, refund_key
from server.crash.store import CrashStore
from server.errors import CroupierError, ErrorCode
from server.services import Services


class Players:
    """The players' two actions on the current round."""

    def __init__(self, services: Services, store: CrashStore, settlement: Settlement) -> None:
        self._services = services
        self._store = store
        self._settlement = settlement

    def _new_bet(
        self, account: Account, amount: int, currency: str, auto: Decimal | None, key: str
    ) -> Bet:
        limits = self._services.settings.bet_limits[currency]
        if not limits.min_bet <= amount <= limits.max_bet:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"{currency} bets are {limits.min_bet} to {limits.max_bet} minor units",
                "amount",
            )
        if amount >= limits.max_payout:
            raise CroupierError(
                ErrorCode.LIMIT_EXCEEDED,
                f"{currency} payouts are at most {limits.max_payout} minor units",
                "amount",
            )
        # The payout reaches max_payout at this multiplier: the bet is cashed out there.
        cap_target = -(-limits.max_payout * 100 // amount)
        auto_x100 = hundredths(auto) if auto is not None else 0
        return Bet(
            user=account.id,
            name=account.name,
            key=key,
            amount=amount,
            currency=currency,
            auto=auto_x100,
            target=min(auto_x100, cap_target) if auto_x100 else cap_target,
            cap=limits.max_payout,
        )

    async def bet(
        self, account: Account, amount: int, currency: str, auto: Decimal | None, key: str
    ) -> dict[str, Any]:
        """Place the user's bet in the round in BETTING (a retry with the key resumes it)."""
        wallet = self._services.wallet
        _, round_id, held = await self._store.reserve(
            self._new_bet(account, amount, currency, auto, key)
        )
        try:
            debit = await wallet.debit(
                account.id, amount, currency,
                key=client_key(key), game=GAME, ref=bet_ref(round_id),
            )  # fmt: skip
        except CroupierError:
            await self._store.release(round_id, held)
            raise
        assert debit.tx is not None
        try:
            opened, placed = await self._store.confirm(round_id, held, debit.tx["id"])
        except CroupierError:
            await wallet.rollback(
                account.id, debit.tx["id"], key=refund_key(round_id), kind="refund"
            )
            raise
        if opened:
            await self._services.hub.publish_public(players_frame("crash.bet", round_id, [placed]))
        return {"round_id": round_id, "bet": placed.public(), "balance": debit.balance}

    async def cashout(self, user: str) -> dict[str, Any]:
        """Cash the user's bet out at the multiplier of the last tick (again: same result)."""
        fresh, round_id, bet = await self._store.cashout(user)
        movement = await self._settlement.close(round_id, bet)
        assert movement is not None
        if fresh:
            await self._services.hub.publish_public(players_frame("crash.cashout", round_id, [bet]))
        return {
            "round_id": round_id,
            "multiplier": show(bet.mult),
            "payout": bet.payout,
            "balance": movement.balance,
        }
