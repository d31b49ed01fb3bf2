"""The live feed of settled bets (`bets.live`), shared by every game.

Each game's flow announces a bet here once it has settled; at most once a
second this instance publishes its newest bets to every socket of the
deployment, and keeps them in the Redis list `croupier:live` so that a new
socket is greeted with the newest bets of every instance.
"""

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from server.bets.public_refs import PublicRefs
from server.protocol import dumps
from server.realtime.connection import Connection

log = logging.getLogger(__name__)

LIVE_FEED_SIZE = 20
LIVE_FEED_INTERVAL_S = 1.0
LIVE_FEED_KEY = "croupier:live"
"""List: the newest bets of every instance (JSON each, newest first), greeting new sockets."""


class LiveFeed:
    """This instance's part of the live feed."""

    def __init__(self, redis: Redis, refs: PublicRefs) -> None:
        self._redis = redis
        self._refs = refs
        self._newest: deque[tuple[str, str, dict[str, Any]]] = deque(maxlen=LIVE_FEED_SIZE)
        """(user id, public name, record) of this instance's newest bets, newest first."""
        self._unpublished = 0

    def announce(self, user_id: str, user_name: str, record: dict[str, Any]) -> None:
        """Add a settled bet (its public record) under the player's public name. Only the
        newest are kept; their feed items are made when they are published."""
        self._newest.appendleft((user_id, user_name, record))
        self._unpublished = min(self._unpublished + 1, LIVE_FEED_SIZE)

    def _item(self, user_id: str, user_name: str, record: dict[str, Any]) -> dict[str, Any]:
        """A bet as the feed shows it, with the reference that looks its details up
        (`GET /api/bets/public/<ref>`)."""
        return {
            "ref": self._refs.ref(user_id, record["id"]),
            "user": user_name,
            "game": record["game"],
            "amount": record["amount"],
            "currency": record["currency"],
            "multiplier": record["multiplier"],
            "payout": record["payout"],
            "time": record["settled_at"],
        }

    async def greet(self, connection: Connection) -> None:
        """Send a new socket the newest bets of every instance as one `bets.live`."""
        items = await self._redis.lrange(LIVE_FEED_KEY, 0, LIVE_FEED_SIZE - 1)
        if items:
            connection.send('{"event":"bets.live","data":{"bets":[' + ",".join(items) + "]}}")

    async def run(self, publish: Callable[[str], Awaitable[None]]) -> None:
        """Publish this instance's newest bets as `bets.live`, at most once a second."""
        while True:
            await asyncio.sleep(LIVE_FEED_INTERVAL_S)
            if not self._unpublished:
                continue
            newest = [self._item(*bet) for bet in self._newest]
            fresh, self._unpublished = newest[: self._unpublished], 0
            frame = dumps({"event": "bets.live", "data": {"bets": newest}})
            try:
                await publish(frame)
                await self._remember(fresh)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing bets.live failed")

    async def _remember(self, fresh: list[dict[str, Any]]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            await (
                pipe.lpush(LIVE_FEED_KEY, *(dumps(item) for item in reversed(fresh)))
                .ltrim(LIVE_FEED_KEY, 0, LIVE_FEED_SIZE - 1)
                .execute()
            )
