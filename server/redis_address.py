"""Where a Redis URL points, for the server's own hiredis connections (scripts, pub/sub)."""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError

CONNECT_TIMEOUT_S = 5.0

P = TypeVar("P", bound=asyncio.Protocol)


class RedisAddress:
    """A parsed `redis://`, `rediss://` or `unix://` URL."""

    def __init__(self, url: str) -> None:
        self._options: dict[str, Any] = parse_url(url)
        self._tls = url.startswith("rediss://")

    @property
    def auth(self) -> tuple[str, ...] | None:
        """The AUTH command the URL asks for, if any."""
        password = self._options.get("password")
        if password is None:
            return None
        username = self._options.get("username")
        return ("AUTH", username, password) if username else ("AUTH", password)

    @property
    def db(self) -> int:
        return int(self._options.get("db") or 0)

    async def open(self, factory: Callable[[], P]) -> P:
        """Connect a protocol made by `factory`; RedisConnectionError on failure."""
        loop = asyncio.get_running_loop()
        options = self._options
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                if "path" in options:
                    _, protocol = await loop.create_unix_connection(factory, options["path"])
                else:
                    _, protocol = await loop.create_connection(
                        factory,
                        options.get("host", "localhost"),
                        options.get("port", 6379),
                        ssl=self._tls or None,
                    )
        except (OSError, TimeoutError) as error:
            raise RedisConnectionError(f"cannot connect to Redis: {error}") from error
        return protocol
