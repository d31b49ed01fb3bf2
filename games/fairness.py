"""Stake-compatible provably fair byte generator.

For a bet identified by (server seed, client seed, nonce) the generator emits
HMAC_SHA256(key=server_seed, msg=f"{client_seed}:{nonce}:{round}") for
round = 0, 1, 2, ... and reads each digest as eight floats in [0, 1), four
bytes per float: b0/256 + b1/256**2 + b2/256**3 + b3/256**4.
"""

import hashlib
import hmac
from collections.abc import Iterator
from itertools import islice

FLOATS_PER_ROUND = 8
_TWO_POW_32 = 2**32


def round_digest(server_seed: str, client_seed: str, nonce: int, round_: int) -> bytes:
    """The 32-byte HMAC-SHA256 digest of one generator round."""
    message = f"{client_seed}:{nonce}:{round_}".encode()
    return hmac.new(server_seed.encode(), message, hashlib.sha256).digest()


def iter_floats(server_seed: str, client_seed: str, nonce: int, start: int = 0) -> Iterator[float]:
    """Endless stream of the bet's floats in [0, 1), in generator order, from float `start` on.

    Starting later computes no earlier round: float i comes from round i // 8.
    """
    round_, skipped = divmod(start, FLOATS_PER_ROUND)
    while True:
        digest = round_digest(server_seed, client_seed, nonce, round_)
        for offset in range(4 * skipped, 32, 4):
            # Exactly b0/256 + b1/256**2 + b2/256**3 + b3/256**4 (32 bits fit a double).
            yield int.from_bytes(digest[offset : offset + 4], "big") / _TWO_POW_32
        skipped = 0
        round_ += 1


def floats(server_seed: str, client_seed: str, nonce: int, count: int) -> list[float]:
    """The first `count` floats of a bet."""
    return list(islice(iter_floats(server_seed, client_seed, nonce), count))


def hash_server_seed(server_seed: str) -> str:
    """SHA-256 hex of a server seed: the commitment shown before any bet."""
    return hashlib.sha256(server_seed.encode()).hexdigest()
