"""A user's sessions as the back office sees them, and ending them all.

Redis keeps a session as `croupier:session:<sha256 of the token>` -> user id,
with no index per user, so both read every session key (SCAN, on every primary
of a cluster): fine for a back office, once per lookup.
"""

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from server.auth import SESSION_PREFIX, revocation_message, session_key
from server.redis_client import publish_to_user
from server.wallet import UserKeys

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class UserSession:
    """One live session of a user."""

    id: str
    """The SHA-256 of its token (never the token)."""
    expires_at: int | None
    """Unix time in ms at which Redis forgets it; None if it does not expire."""


async def user_sessions(redis: Redis, user_id: str) -> list[UserSession]:
    """The live sessions of `user_id`."""
    found: list[UserSession] = []
    async for batch in _session_batches(redis):
        async with redis.pipeline(transaction=False) as pipe:
            for key in batch:
                pipe.get(key).pttl(key)
            replies = await pipe.execute()
        now_ms = int(time.time() * 1000)
        for key, owner, ttl_ms in zip(batch, replies[::2], replies[1::2], strict=True):
            if owner == user_id:
                expires = now_ms + ttl_ms if ttl_ms > 0 else None
                found.append(UserSession(key.removeprefix(SESSION_PREFIX), expires))
    return found


async def revoke_sessions(redis: Redis, user_id: str) -> int:
    """End every session of `user_id`: forget it and close its sockets on every instance.
    Returns how many were ended."""
    ended = 0
    for session in await user_sessions(redis, user_id):
        if await redis.getdel(session_key(session.id)) == user_id:
            await publish_to_user(redis, UserKeys(user_id).events, revocation_message(session.id))
            ended += 1
    return ended


async def _session_batches(redis: Redis) -> AsyncIterator[list[str]]:
    """The session keys, up to `_BATCH` at a time."""
    batch: list[str] = []
    async for key in redis.scan_iter(match=SESSION_PREFIX + "*", count=_BATCH):
        batch.append(key)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
