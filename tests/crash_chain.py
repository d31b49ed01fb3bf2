"""Crash chains whose crash points a test chooses (the stored checkpoints are trusted)."""

import random
from collections.abc import Callable
from decimal import Decimal

from redis.asyncio import Redis

from games.crash import HashChain, crash_point
from server.crash import keys
from server.crash.chain_store import chain_json
from server.crash.config import DEFAULT_SALT

Band = tuple[Decimal, Decimal]


def hash_with_point(rng: random.Random, band: Band) -> str:
    """A random 'round hash' whose crash point lies in the band."""
    while True:
        candidate = rng.randbytes(32).hex()
        if band[0] <= crash_point(candidate, DEFAULT_SALT) <= band[1]:
            return candidate


def crafted_hashes(length: int, band_of: Callable[[int], Band], seed: int) -> list[str]:
    """Hashes of rounds 1..length, round k's point in band_of(k)."""
    rng = random.Random(seed)
    return [hash_with_point(rng, band_of(k)) for k in range(1, length + 1)]


async def install_chain(redis: Redis, round_hashes: list[str]) -> None:
    """Store a chain that plays `round_hashes` in order (checkpoint every hash)."""
    chain = HashChain.from_checkpoints(round_hashes[::-1], len(round_hashes), 1)
    await redis.set(keys.CHAIN, chain_json(chain, DEFAULT_SALT))
