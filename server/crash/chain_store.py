"""The hash chain of the rounds: made once, stored in Redis, shared by every instance.

At first start an instance makes the chain from the configured secret seed (or
a random one) and stores its checkpoints, length, terminating hash and salt
with SET NX: instances starting together each make one, the first stored wins
and all of them load it. The stored chain, not the settings, is used from then
on. The checkpoints are secret (they give every future round hash); the
terminating hash, the salt and the convention are public.

New chains use bustabit's convention (hashes as raw bytes, `bytes`), so any
round can be checked with bustabit's own verifier. A chain stored before the
convention was recorded used the hashes' hex text (`text`) and keeps it: its
terminating hash is published, and changing how it is walked would break every
check of it. To move such a deployment to `bytes`, publish a new chain: delete
every `crash:{live}:*` key between two rounds with every instance stopped,
restart, and publish the new terminating hash with a salt chosen after it.
"""

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from games.crash import ChainConvention, HashChain, crash_point, next_hash
from server.crash import keys
from server.crash.config import CrashSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Chain:
    """The chain and the salt that make every round's hash and crash point."""

    hashes: HashChain
    salt: str
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)
    """Chain index i of each h_i kept: the checkpoints and the terminating hash h_N."""

    def __post_init__(self) -> None:
        interval = self.hashes.checkpoint_interval
        positions = {value: j * interval for j, value in enumerate(self.hashes.checkpoints)}
        positions[self.terminating_hash] = self.length
        object.__setattr__(self, "_positions", positions)

    @property
    def terminating_hash(self) -> str:
        return self.hashes.terminating_hash

    @property
    def length(self) -> int:
        return self.hashes.length

    @property
    def convention(self) -> ChainConvention:
        return self.hashes.convention

    def round_hash(self, round_id: int) -> str:
        """Secret until the round crashes."""
        return self.hashes.hash_for_round(round_id)

    def point(self, round_id: int) -> Decimal:
        return crash_point(self.round_hash(round_id), self.salt, self.convention)

    def commitment(self, round_id: int) -> str:
        """The next hash of the round's hash: the previous round's hash, or the terminating one."""
        return self.terminating_hash if round_id == 1 else self.round_hash(round_id - 1)

    def locate(self, round_hash: str) -> tuple[int | None, int]:
        """The round whose hash this is (None if none), and the SHA-256 computed to know.

        Hashing forward from h_i reaches a kept hash h_j (a checkpoint, or h_N)
        within checkpoint_interval steps, s of them; then i = j - s and the round
        is N - i. The cost does not grow with the rounds played.
        """
        value, most = round_hash, self.hashes.checkpoint_interval
        for steps in range(most + 1):
            if steps:
                value = next_hash(value, self.convention)
            index = self._positions.get(value)
            if index is not None:
                round_id = self.length - (index - steps)
                return (round_id if 1 <= round_id <= self.length else None), steps
        return None, most

    def public(self) -> dict[str, Any]:
        return {
            "terminating_hash": self.terminating_hash,
            "salt": self.salt,
            "length": self.length,
            "convention": self.convention.value,
        }


def chain_json(hashes: HashChain, salt: str) -> str:
    """What is stored: checkpoints, shape, terminating hash and salt."""
    return json.dumps(
        {
            "length": hashes.length,
            "checkpoint_interval": hashes.checkpoint_interval,
            "checkpoints": hashes.checkpoints,
            "terminating_hash": hashes.terminating_hash,
            "salt": salt,
            "convention": hashes.convention.value,
        }
    )


def parse_chain(raw: str) -> Chain:
    """A stored chain; ValueError if its checkpoints do not end at its terminating hash."""
    data = json.loads(raw)
    # A chain stored before conventions were recorded walks the hashes' hex text.
    convention = ChainConvention(data.get("convention", ChainConvention.TEXT))
    hashes = HashChain.from_checkpoints(
        data["checkpoints"], data["length"], data["checkpoint_interval"], convention
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
