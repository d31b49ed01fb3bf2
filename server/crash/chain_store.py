"""The hash chain of the rounds: made once, stored in Redis, shared by every instance.

At first start an instance makes the chain from the configured secret seed (or
a random one) and stores its checkpoints, length, terminating hash and salt
with SET NX: instances starting together each make one, the first stored wins
and all of them load it. The stored chain, not the settings, is used from then
on. The checkpoints are secret (they give every future round hash); the
terminating hash and the salt are public.
"""

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from games.crash import HashChain, crash_point
from server.crash import keys
from server.crash.config import CrashSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Chain:
    """The chain and the salt that make every round's hash and crash point."""

    hashes: HashChain
    salt: str

    @property
    def terminating_hash(self) -> str:
        return self.hashes.terminating_hash

    @property
    def length(self) -> int:
        return self.hashes.length

    def round_hash(self, round_id: int) -> str:
        """Secret until the round crashes."""
        return self.hashes.hash_for_round(round_id)

    def point(self, round_id: int) -> Decimal:
        return crash_point(self.round_hash(round_id), self.salt)

    def commitment(self, round_id: int) -> str:
        """sha256 of the round's hash: the previous round's hash, or the terminating hash."""
        return self.terminating_hash if round_id == 1 else self.round_hash(round_id - 1)

    def public(self) -> dict[str, Any]:
        return {"terminating_hash": self.terminating_hash, "salt": self.salt, "length": self.length}


def chain_json(hashes: HashChain, salt: str) -> str:
    """What is stored: checkpoints, shape, terminating hash and salt."""
    return json.dumps(
        {
            "length": hashes.length,
            "checkpoint_interval": hashes.checkpoint_interval,
            "checkpoints": hashes.checkpoints,
            "terminating_hash": hashes.terminating_hash,
            "salt": salt,
        }
    )


def parse_chain(raw: str) -> Chain:
    """A stored chain; ValueError if its checkpoints do not end at its terminating hash."""
    data = json.loads(raw)
    hashes = HashChain.from_checkpoints(
        data["checkpoints"], data["length"], data["checkpoint_interval"]
    )
    if hashes.terminating_hash != data["terminating_hash"]:
        raise ValueError("the stored crash chain does not end at its terminating hash")
    return Chain(hashes, data["salt"])


async def ensure_chain(redis: Redis, settings: CrashSettings) -> Chain:
    """The deployment's chain, made and stored first if there is none."""
    raw = await redis.get(keys.CHAIN)
    if raw is None:
        seed = settings.seed.get_secret_value() if settings.seed else secrets.token_hex(32)
        hashes = await asyncio.to_thread(
            HashChain, seed, settings.chain_length, settings.checkpoint_interval
        )
        if await redis.set(keys.CHAIN, chain_json(hashes, settings.salt), nx=True):
            log.info(
                "made the crash hash chain of %d rounds (first start of this Redis);"
                " publish its terminating hash %s (also at GET /api/crash/chain) before"
                " round 1, so that players can check every round's hash was fixed in advance",
                hashes.length,
                hashes.terminating_hash,
            )
        raw = await redis.get(keys.CHAIN)
    chain = parse_chain(raw)
    if (chain.length, chain.salt) != (settings.chain_length, settings.salt):
        log.warning("the stored crash chain (length, salt) differs from the settings: using it")
    return chain
