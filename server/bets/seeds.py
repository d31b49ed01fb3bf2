"""Provably fair seed pairs: one active pair per user, rotated on demand.

The active pair is a secret server seed (32 random bytes as 64 hex
characters), its SHA-256 (shown to the user before any bet), a client seed
the user may choose, and a nonce that the bet script increments atomically
with the debit. Rotating reveals the old server seed so every bet made with it
can be checked, and starts a new pair at nonce 0.
"""

import json
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from games.fairness import hash_server_seed
from server.errors import CroupierError, ErrorCode
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys
from server.wallet.journal import Journal
from server.wallet.scripts import script_source

_HERE = Path(__file__).parent
CACHED_PAIRS = 65_536
"""Seed pairs kept per process (least recently used dropped first)."""


@dataclass(frozen=True, slots=True)
class ActivePair:
    """A user's active seed pair as this process last saw it, with its next nonce.

    Outcomes are computed from it before a script runs; the script checks that the
    pair and nonce are still the active ones (compare-and-set), so a stale copy costs
    a retry, never a wrong bet."""

    server_seed: str
    server_seed_hash: str
    client_seed: str
    nonce: int


def new_server_seed() -> tuple[str, str]:
    """A fresh secret server seed and its SHA-256 commitment."""
    seed = secrets.token_hex(32)
    return seed, hash_server_seed(seed)


def new_client_seed() -> str:
    """A random default client seed."""
    return secrets.token_hex(10)


class SeedPairs:
    """Reads, creates and rotates users' seed pairs."""

    def __init__(self, redis: Redis, runner: ScriptRunner, journal: Journal) -> None:
        self._redis = redis
        self._journal = journal
        self._ensure = runner.script(script_source(_HERE / "seeds_ensure.lua", with_prelude=False))
        self._rotate = runner.script(script_source(_HERE / "seeds_rotate.lua", with_prelude=False))
        self._pairs: OrderedDict[str, ActivePair] = OrderedDict()

    async def active(self, user_id: str) -> ActivePair:
        """The user's active pair and next nonce: this process's copy, else read from Redis
        (made first if the user has none)."""
        pair = self._pairs.get(user_id)
        if pair is not None:
            return pair
        seed, seed_hash, client_seed, nonce = await self._redis.hmget(
            UserKeys(user_id).seeds, ["server_seed", "server_seed_hash", "client_seed", "nonce"]
        )
        if seed is None:
            await self.ensure(user_id)
            return await self.active(user_id)
        return self.remember(user_id, ActivePair(seed, seed_hash, client_seed, int(nonce)))

    def remember(self, user_id: str, pair: ActivePair) -> ActivePair:
        """Keep `pair` (with its next nonce) as the user's; returns it."""
        self._pairs[user_id] = pair
        self._pairs.move_to_end(user_id)
        if len(self._pairs) > CACHED_PAIRS:
            self._pairs.popitem(last=False)
        return pair

    def used(self, user_id: str, pair: ActivePair) -> None:
        """A script took `pair`'s nonce: remember the next one."""
        self.remember(user_id, replace(pair, nonce=pair.nonce + 1))

    def forget(self, user_id: str) -> None:
        """Drop this process's copy of the user's pair (the next use reads Redis)."""
        self._pairs.pop(user_id, None)

    def stale(self, user_id: str, reply: list[str]) -> ActivePair:
        """Remember the pair a script answered STALE with (server seed, hash, client
        seed, next nonce); returns it."""
        seed, seed_hash, client_seed, nonce = reply[1:]
        return self.remember(user_id, ActivePair(seed, seed_hash, client_seed, int(nonce)))

    async def ensure(self, user_id: str) -> None:
        """Give the user a seed pair if they have none."""
        seed, seed_hash = new_server_seed()
        await self._ensure(
            keys=[UserKeys(user_id).seeds], args=[seed, seed_hash, new_client_seed()]
        )

    async def public(self, user_id: str) -> dict[str, Any]:
        """The active pair without its secret: hash, client seed, next nonce."""
        await self.ensure(user_id)
        pair = await self._redis.hgetall(UserKeys(user_id).seeds)
        return {
            "server_seed_hash": pair["server_seed_hash"],
            "client_seed": pair["client_seed"],
            "nonce": int(pair["nonce"]),
        }

    async def revealed(self, user_id: str, seed_hashes: list[str]) -> dict[str, str]:
        """Server seeds already revealed, by their hash (unrevealed ones are absent)."""
        if not seed_hashes:
            return {}
        found = await self._redis.hmget(UserKeys(user_id).revealed_seeds, seed_hashes)
        return {
            seed_hash: json.loads(raw)["server_seed"]
            for seed_hash, raw in zip(seed_hashes, found, strict=True)
            if raw is not None
        }

    async def rotate(self, user_id: str, client_seed: str | None) -> dict[str, Any]:
        """Reveal the active pair and start a new one; GAME_ACTIVE while a bet is open on it."""
        keys = UserKeys(user_id)
        seed, seed_hash = new_server_seed()
        status, revealed = await self._rotate(
            keys=[keys.seeds, keys.revealed_seeds, keys.open_on_seeds, keys.journal],
            args=[
                seed,
                seed_hash,
                client_seed or new_client_seed(),
                str(int(time.time() * 1000)),
                user_id,
            ],
        )
        self._journal.wrote(user_id)
        if status != "ok":
            raise CroupierError(ErrorCode(status), revealed)
        return {"revealed": json.loads(revealed), "active": await self.public(user_id)}
