"""Crash: the math of a shared round whose multiplier grows until it crashes.

Hash chain (bustabit's). Hashes are 64 lowercase hex characters. From a secret
seed and a length N:

    h_0 = SHA-256(seed text),  h_{i+1} = SHA-256(input(h_i))  for i = 0 .. N-1

where `input(h)` is, by the chain's convention, the 32 raw bytes the hex spells
(BYTES, as bustabit's current chain and verifier: any round can be checked
with bustabit's own verifier) or the 64 hex characters as ASCII (TEXT, as the
first chains of this server; a chain keeps its convention for life).

Rounds are played backwards through the chain: round k (1 <= k <= N) uses
h_{N-k}, so round 1 uses h_{N-1} and round N uses h_0. The terminating hash
h_N = sha256_hex(hash of round 1) is published before round 1. Hence
sha256_hex(hash of round k+1) == hash of round k, and hashing the hash of
round k k times gives the terminating hash: anyone can check a revealed round
hash belongs to the committed chain, and no one can predict the next one.

Crash point. A public salt (chosen after the terminating hash is published,
e.g. a future block hash) keeps the operator from picking a lucky chain:
X = int(first 13 hex digits of HMAC_SHA256(key=salt as ASCII, msg=input(round_hash)), 16) / 2**52
and the point is max(1.00, floor(99 / (1 - X)) / 100), computed in integers:
P(point >= m) = 0.99 / m up to 2**-52, a 1% edge for any cashout target.

Growth. The multiplier shown t ms after the start is floor(100 e^(0.00006 t)) / 100.
The exponential is evaluated with `decimal` at 40 significant digits; decimal's
exp is correctly rounded by specification, so every platform computes the same
tick (libm's float exp is not guaranteed to). The round crashes at the first
ms at which the multiplier reaches the crash point, `elapsed_for(point)`; a
cashout at m wins if m <= crash point.
"""

import hashlib
import hmac
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from typing import Self

from games.states import floor_decimal, transition

_BITS = 52
_HEX_DIGITS = _BITS // 4
_SPAN = 2**_BITS
_EDGE_X100 = 99  # 99% returned, in hundredths
_ONE = Decimal("1.00")
_GROWTH_PER_MS = Decimal("0.00006")
_PRECISION = 40
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


class ChainConvention(StrEnum):
    """How a round hash is fed to SHA-256 (the next hash) and to the HMAC of its point."""

    BYTES = "bytes"
    """The 32 raw bytes the hex spells: bustabit's current convention."""
    TEXT = "text"
    """The 64 hex characters as ASCII: the first chains of this server."""


def sha256_hex(text: str) -> str:
    """SHA-256 hex digest of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()


def hash_input(round_hash: str, convention: ChainConvention) -> bytes:
    """The bytes a round hash stands for under `convention`."""
    return bytes.fromhex(round_hash) if convention is ChainConvention.BYTES else round_hash.encode()


def next_hash(round_hash: str, convention: ChainConvention) -> str:
    """SHA-256 of a hash under `convention`: the hash of the previous round."""
    return hashlib.sha256(hash_input(round_hash, convention)).hexdigest()


def _check_shape(length: int, interval: int) -> None:
    if length < 1 or interval < 1:
        raise ValueError("length and checkpoint interval must be positive")


def _hash_forward(value: str, steps: int, convention: ChainConvention) -> str:
    for _ in range(steps):
        value = next_hash(value, convention)
    return value


class HashChain:
    """A chain of N round hashes, keeping one hash in `checkpoint_interval`.

    Checkpoint j is h_{j x interval}, so any round hash is at most
    interval - 1 hashes away from a stored one.
    """

    def __init__(
        self,
        seed: str,
        length: int,
        checkpoint_interval: int = 1000,
        convention: ChainConvention = ChainConvention.BYTES,
    ) -> None:
        _check_shape(length, checkpoint_interval)
        checkpoints: list[str] = []
        value = sha256_hex(seed)
        for index in range(length):
            if index % checkpoint_interval == 0:
                checkpoints.append(value)
            value = next_hash(value, convention)
        self._adopt(checkpoints, length, checkpoint_interval, convention)

    @classmethod
    def from_checkpoints(
        cls,
        checkpoints: list[str],
        length: int,
        checkpoint_interval: int,
        convention: ChainConvention = ChainConvention.BYTES,
    ) -> Self:
        """Restore a chain from its exported checkpoints (trusted: not re-derived)."""
        chain = cls.__new__(cls)
        chain._adopt(checkpoints, length, checkpoint_interval, convention)
        return chain

    def _adopt(
        self, checkpoints: list[str], length: int, interval: int, convention: ChainConvention
    ) -> None:
        _check_shape(length, interval)
        if len(checkpoints) != (length - 1) // interval + 1:
            raise ValueError(f"a {length}-chain every {interval} has other checkpoints")
        if not all(_HASH_HEX.fullmatch(value) for value in checkpoints):
            raise ValueError("checkpoints must be lowercase sha256 hex digests")
        self.length = length
        self.checkpoint_interval = interval
        self.convention = convention
        self._checkpoints = list(checkpoints)
        last = (len(checkpoints) - 1) * interval
        self._terminating_hash = _hash_forward(checkpoints[-1], length - last, convention)

    @property
    def checkpoints(self) -> list[str]:
        """The stored hashes h_0, h_K, h_2K, ... (for persistence)."""
        return list(self._checkpoints)

    @property
    def terminating_hash(self) -> str:
        """h_N = next_hash(hash of round 1), published before round 1."""
        return self._terminating_hash

    def hash_for_round(self, round_number: int) -> str:
        """The hash of round `round_number` (1..length): h_{N - round}."""
        if not 1 <= round_number <= self.length:
            raise ValueError(f"round must be 1..{self.length}, got {round_number}")
        checkpoint, steps = divmod(self.length - round_number, self.checkpoint_interval)
        return _hash_forward(self._checkpoints[checkpoint], steps, self.convention)


def verify_chain(
    round_hash: str,
    terminating_hash: str,
    max_steps: int,
    convention: ChainConvention = ChainConvention.BYTES,
) -> int | None:
    """The round number of `round_hash` in the chain ending at `terminating_hash`.

    Hashes forward at most `max_steps` times; None if the terminating hash is
    not reached.
    """
    value = round_hash
    for steps in range(1, max_steps + 1):
        value = next_hash(value, convention)
        if value == terminating_hash:
            return steps
    return None


def point_for_bits(bits: int) -> Decimal:
    """Crash point of a 52-bit draw: max(1.00, floor(99 x 2**52 / (2**52 - bits)) / 100)."""
    if not 0 <= bits < _SPAN:
        raise ValueError(f"expected a {_BITS}-bit value, got {bits}")
    return max(_ONE, floor_decimal(Fraction(_EDGE_X100 * _SPAN, 100 * (_SPAN - bits)), 2))


def crash_point(
    round_hash: str, salt: str, convention: ChainConvention = ChainConvention.BYTES
) -> Decimal:
    """Crash point of a round: 52 bits of HMAC_SHA256(key=salt, msg=input(round_hash))."""
    message = hash_input(round_hash, convention)
    digest = hmac.new(salt.encode(), message, hashlib.sha256).hexdigest()
    return point_for_bits(int(digest[:_HEX_DIGITS], 16))


def win_probability(multiplier: Decimal) -> Fraction:
    """Exact P(crash point >= multiplier): the chance a cashout at `multiplier` wins."""
    x100 = int((multiplier * 100).to_integral_value(rounding=ROUND_CEILING))
    if x100 <= 100:
        return Fraction(1)
    return Fraction(_EDGE_X100 * _SPAN // x100, _SPAN)


def multiplier_at(elapsed_ms: int) -> Decimal:
    """Multiplier shown `elapsed_ms` after the round started: floor(100 e^(0.00006 t)) / 100."""
    if elapsed_ms < 0:
        raise ValueError("elapsed time cannot be negative")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        growth = (_GROWTH_PER_MS * elapsed_ms).exp()
    return floor_decimal(Fraction(growth), 2)


def elapsed_for(multiplier: Decimal) -> int:
    """First ms at which `multiplier_at` reaches `multiplier` (the crash tick of a point)."""
    if multiplier < 1:
        raise ValueError("the multiplier starts at 1.00")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        target = (multiplier * 100).to_integral_value(rounding=ROUND_CEILING) / 100
        estimate = (target.ln() / _GROWTH_PER_MS).to_integral_value(rounding=ROUND_CEILING)
    elapsed = int(estimate)
    # Settle on multiplier_at itself, whatever the last digit of the estimate.
    while elapsed > 0 and multiplier_at(elapsed - 1) >= multiplier:
        elapsed -= 1
    while multiplier_at(elapsed) < multiplier:
        elapsed += 1
    return elapsed


class RoundPhase(StrEnum):
    """Phases of a crash round; CRASHED leads to the next round's BETTING."""

    BETTING = "betting"
    RUNNING = "running"
    CRASHED = "crashed"


_PHASE_MOVES: Mapping[RoundPhase, frozenset[RoundPhase]] = {
    RoundPhase.BETTING: frozenset({RoundPhase.RUNNING}),
    RoundPhase.RUNNING: frozenset({RoundPhase.CRASHED}),
    RoundPhase.CRASHED: frozenset({RoundPhase.BETTING}),
}


def advance(current: RoundPhase, target: RoundPhase) -> RoundPhase:
    """Return `target` if current -> target is the next phase, else raise IllegalTransitionError."""
    return transition(_PHASE_MOVES, current, target)
