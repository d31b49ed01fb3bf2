"""A Redis pub/sub connection read by hiredis, handing each message to a callback.

The hub forwards every message it receives, so receiving one must cost little:
messages are parsed in C straight from `data_received` and passed on with no
task, queue or timeout in between. Subscriptions are confirmed: `subscribe`
returns once Redis has acknowledged every channel.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.redis_address import CONNECT_TIMEOUT_S, RedisAddress

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_S = 10.0

OnMessage = Callable[[str, str], None]


class _SubscriberProtocol(asyncio.Protocol):
    def __init__(self, on_message: OnMessage) -> None:
        self._on_message = on_message
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self._transport: asyncio.Transport | None = None
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._replies: list[asyncio.Future[Any]] = []
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            if isinstance(reply, list) and reply[0] == "message":
                try:
                    self._on_message(reply[1], reply[2])
                except Exception:  # one bad delivery must not end the connection
                    log.exception("delivering a message of %s failed", reply[1])
            elif isinstance(reply, list) and reply[0] == "subscribe":
                future = self._confirmations.pop(reply[1], None)
                if future is not None and not future.done():
                    future.set_result(None)
            elif self._replies:  # the reply to AUTH
                future = self._replies.pop(0)
                if isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        error = RedisConnectionError(f"pub/sub connection lost ({exc or 'closed'})")
        for future in [*self._confirmations.values(), *self._replies]:
            if not future.done():
                future.set_exception(error)
        self._confirmations.clear()
        self._replies.clear()
        if not self.lost.done():
            self.lost.set_result(exc)

    def command(self, *args: str) -> "asyncio.Future[Any]":
        """Send a command answered by a plain reply (AUTH, before any SUBSCRIBE)."""
        future = asyncio.get_running_loop().create_future()
        self._replies.append(future)
        self._write(args)
        return future

    def subscribe(self, channels: tuple[str, ...]) -> list["asyncio.Future[None]"]:
        """Send SUBSCRIBE; one future per channel, done when Redis confirms it."""
        loop = asyncio.get_running_loop()
        futures = []
        for channel in channels:
            future = self._confirmations.get(channel)
            if future is None:
                future = self._confirmations[channel] = loop.create_future()
            futures.append(future)
        self._write(("SUBSCRIBE", *channels))
        return futures

    def unsubscribe(self, channels: tuple[str, ...]) -> None:
        """Send UNSUBSCRIBE (its confirmation is not awaited)."""
        self._write(("UNSUBSCRIBE", *channels))

    def _write(self, args: tuple[str, ...]) -> None:
        if self._transport is None:
            raise RedisConnectionError("pub/sub connection is closed")
        self._transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]  # stub: 1-tuple

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Subscriber:
    """One pub/sub connection; `connect` again after `lost` to get a fresh one."""

    def __init__(self, url: str, on_message: OnMessage) -> None:
        self._address = RedisAddress(url)
        self._on_message = on_message
        self._protocol: _SubscriberProtocol | None = None

    @property
    def connected(self) -> bool:
        return self._protocol is not None and not self._protocol.lost.done()

    async def connect(self) -> None:
        """Open a new connection (closing any previous one)."""
        self.close()
        protocol = await self._address.open(lambda: _SubscriberProtocol(self._on_message))
        auth = self._address.auth
        try:
            if auth:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await protocol.command(*auth)
        except BaseException:
            protocol.close()
            raise
        self._protocol = protocol

    async def lost(self) -> Exception | None:
        """Wait until the connection drops; returns what closed it."""
        if self._protocol is None:
            return None
        return await asyncio.shield(self._protocol.lost)

    async def subscribe(self, *channels: str) -> None:
        """Subscribe and wait until Redis confirms every channel."""
        if not self.connected:
            raise RedisConnectionError("pub/sub connection is closed")
        assert self._protocol is not None
        futures = self._protocol.subscribe(channels)
        async with asyncio.timeout(CONFIRM_TIMEOUT_S):
            await asyncio.gather(*(asyncio.shield(future) for future in futures))

    def unsubscribe(self, *channels: str) -> None:
        """Unsubscribe; a no-op while disconnected (a new connection starts empty)."""
        if self.connected:
            assert self._protocol is not None
            self._protocol.unsubscribe(channels)

    def close(self) -> None:
        """Close the connection (`lost` returns)."""
        if self._protocol is not None:
            self._protocol.close()
