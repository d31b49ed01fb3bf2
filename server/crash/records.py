"""The records of a round as the Lua scripts store them, and their public views.

Multipliers are stored as integers in hundredths (x100) and shown as strings
("1.23"); amounts are integers in minor units.
"""

import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from games.crash import RoundPhase


def hundredths(multiplier: Decimal) -> int:
    """A multiplier with at most two decimals as an integer number of hundredths."""
    return int(multiplier * 100)


def show(x100: int) -> str:
    """Hundredths as the multiplier text clients see: 123 -> "1.23"."""
    return f"{x100 // 100}.{x100 % 100:02d}"


class BetStatus(StrEnum):
    """Life of a bet record in a round (moves made by the Lua scripts only).

    PENDING -> OPEN (debit confirmed in BETTING) -> CASHED | LOST | VOID;
    PENDING -> LATE when the round starts before the debit is confirmed.
    """

    PENDING = "pending"
    """The place is reserved; the debit is not confirmed yet."""
    OPEN = "open"
    """Debited and playing."""
    CASHED = "cashed"
    """Cashed out at `mult` for `payout` (by the player, a target or the cap)."""
    LOST = "lost"
    """Still open at the crash."""
    VOID = "void"
    """Still open when a new leader voided the round: refunded."""
    LATE = "late"
    """Still pending when the round started: did not play, refunded."""


_PLAYED = frozenset({BetStatus.OPEN, BetStatus.CASHED, BetStatus.LOST, BetStatus.VOID})


@dataclass(frozen=True, slots=True)
class Bet:
    """One user's bet in the current round."""

    user: str
    name: str
    key: str
    amount: int
    currency: str
    auto: int
    """The player's cashout target x100, 0 for none."""
    target: int
    """Effective target x100: the player's, or lower where the payout reaches `cap`."""
    cap: int
    """The largest payout of this bet (the currency's max_payout)."""
    tx: int = 0
    """Id of the wallet's bet entry, once debited."""
    status: BetStatus = BetStatus.PENDING
    mult: int = 0
    payout: int = 0

    @classmethod
    def from_json(cls, raw: str) -> "Bet":
        data = json.loads(raw)
        return cls(**{**data, "status": BetStatus(data["status"])})

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @property
    def visible(self) -> bool:
        """Shown in the players list: debited (not pending, not late)."""
        return self.status in _PLAYED

    def public(self) -> dict[str, Any]:
        """What every client sees of this bet: the player's public name, never the user id
        (nor the key, the target or the entry)."""
        cashed = self.status is BetStatus.CASHED
        return {
            "name": self.name,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status.value,
            "multiplier": show(self.mult) if cashed else None,
            "payout": self.payout,
        }


@dataclass(frozen=True, slots=True)
class RoundState:
    """The current round as stored in the round hash."""

    id: int
    phase: RoundPhase
    fence: int
    """Fencing number of the leader that owns the round."""
    commitment: str
    """Hash of the previous round (or the terminating hash): the next hash of this round's hash."""
    betting_ends: int
    started_at: int
    tick: int
    """Elapsed ms of the last tick, -1 before the first."""
    mult: int
    """Multiplier x100 of the last tick: what a cashout now pays."""
    point: int
    hash: str
    voided: bool
    settled: bool

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> "RoundState | None":
        if not raw:
            return None
        return cls(
            id=int(raw["id"]),
            phase=RoundPhase(raw["phase"]),
            fence=int(raw["fence"]),
            commitment=raw["commitment"],
            betting_ends=int(raw["betting_ends"]),
            started_at=int(raw["started_at"]),
            tick=int(raw["tick"]),
            mult=int(raw["mult"]),
            point=int(raw.get("point", 0)),
            hash=raw.get("hash", ""),
            voided=raw["voided"] == "1",
            settled=raw["settled"] == "1",
        )

    def public(self) -> dict[str, Any]:
        """The round as `crash.state` shows it: no hash before the crash."""
        data: dict[str, Any] = {
            "round_id": self.id,
            "phase": self.phase.value,
            "commitment": self.commitment,
            "betting_ends": self.betting_ends,
            "started_at": self.started_at or None,
            "elapsed_ms": self.tick if self.tick >= 0 else None,
            "multiplier": show(self.mult) if self.tick >= 0 else None,
            "leader": self.fence,
        }
        if self.phase is RoundPhase.CRASHED:
            data.update(point=show(self.point), hash=self.hash, voided=self.voided)
        return data


def history_entry(round_id: int, point: int, round_hash: str, voided: bool) -> str:
    """JSON of one round in the history list."""
    entry = {"round_id": round_id, "point": show(point), "hash": round_hash, "voided": voided}
    return json.dumps(entry, separators=(",", ":"))
