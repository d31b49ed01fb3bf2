"""Per-user lock for flows that take more than one script (debit, play, settle).

Lua atomicity alone keeps money exact; the lock keeps one user's multi-step
flows (two tabs, two instances) from interleaving. It is a Redis key holding a
random token with an expiry, taken with SET NX PX and released by
compare-and-delete, so a holder that died frees it when it expires.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from server.errors import CroupierError, ErrorCode
from server.wallet.keys import UserKeys
from server.wallet.scripts import WalletScripts


class UserLocks:
    """Hands out per-user locks with a fixed expiry."""

    def __init__(self, redis: Redis, scripts: WalletScripts, ttl_ms: int) -> None:
        self._redis = redis
        self._scripts = scripts
        self._ttl_ms = ttl_ms

    @asynccontextmanager
    async def hold(self, user: str, wait_s: float | None = None) -> AsyncIterator[None]:
        """Hold `user`'s lock for the block; BUSY if not acquired within `wait_s`."""
        key = UserKeys(user).lock
        token = secrets.token_hex(16)
        await self._acquire(key, token, self._ttl_ms / 1000 if wait_s is None else wait_s)
        try:
            yield
        finally:
            await asyncio.shield(self._scripts.unlock(keys=[key], args=[token]))

    async def _acquire(self, key: str, token: str, wait_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        delay = 0.002
        while not await self._redis.set(key, token, nx=True, px=self._ttl_ms):
            if loop.time() + delay > deadline:
                raise CroupierError(ErrorCode.BUSY, "another action of this account is running")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
