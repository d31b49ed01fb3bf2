"""A Redis pub/sub connection read by hiredis, handing each message to a callback
(one per primary on a Redis Cluster).

The hub forwards every message it receives, so receiving one must cost little:
messages are parsed in C straight from `data_received` and passed on with no
task, queue or timeout in between. Subscriptions are confirmed: `subscribe`
returns once Redis has acknowledged every channel.
"""

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.redis_address import CONNECT_TIMEOUT_S, RedisAddress
from server.redis_cluster import SlotMap, is_cluster_url, read_slot_map, seed_urls, user_info
from server.slots import key_slot

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
        self._leaving: set[str] = set()
        self.lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            kind = reply[0] if isinstance(reply, list) else None
            if kind in ("message", "smessage"):
                try:
                    self._on_message(reply[1], reply[2])
                except Exception:  # one bad delivery must not end the connection
                    log.exception("delivering a message of %s failed", reply[1])
            elif kind in ("subscribe", "ssubscribe"):
                future = self._confirmations.pop(reply[1], None)
                if future is not None and not future.done():
                    future.set_result(None)
            elif kind == "sunsubscribe" and reply[1] not in self._leaving:
                # The node no longer serves the channel's slot (it moved, or the
                # node became a replica): end the connection, the next one
                # subscribes on the slot's new owner.
                log.warning("shard channel %s moved away; reconnecting", reply[1])
                self.close()
            elif kind == "sunsubscribe":
                self._leaving.discard(reply[1])
            elif self._replies:  # the reply to AUTH or CLUSTER SLOTS
                future = self._replies.pop(0)
                if isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
            elif isinstance(reply, ResponseError):  # e.g. MOVED for an SSUBSCRIBE
                log.warning("pub/sub error (%s); reconnecting", reply)
                self.close()

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

    def subscribe(
        self, channels: tuple[str, ...], command: str = "SUBSCRIBE"
    ) -> list["asyncio.Future[None]"]:
        """Send SUBSCRIBE (or SSUBSCRIBE, one channel per command: a cluster takes
        shard channels of one slot at a time); one future per channel, done when
        Redis confirms it."""
        loop = asyncio.get_running_loop()
        futures = []
        for channel in channels:
            future = self._confirmations.get(channel)
            if future is None:
                future = self._confirmations[channel] = loop.create_future()
            futures.append(future)
        if command == "SUBSCRIBE":
            self._write(("SUBSCRIBE", *channels))
        else:
            for channel in channels:
                self._write((command, channel))
        return futures

    def unsubscribe(self, channels: tuple[str, ...], command: str = "UNSUBSCRIBE") -> None:
        """Send UNSUBSCRIBE or SUNSUBSCRIBE (its confirmation is not awaited)."""
        if command == "UNSUBSCRIBE":
            self._write(("UNSUBSCRIBE", *channels))
            return
        self._leaving.update(channels)
        for channel in channels:
            self._write((command, channel))

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


class ClusterSubscriber:
    """Pub/sub on a Redis Cluster: one connection per primary.

    A channel with a hash tag (a user's `{u:<id>}:events`) is a shard channel:
    SSUBSCRIBEd on the primary that serves its slot, where the scripts
    SPUBLISH to it. Any other channel (the public one) is SUBSCRIBEd on one
    primary: a cluster delivers a PUBLISH to every node. The connections end
    together: when one drops, or a node gives up a slot (migration, failover),
    `lost` returns and the next `connect` reads the slot map again.
    """

    def __init__(self, url: str, on_message: OnMessage) -> None:
        self._seeds = seed_urls(url)
        self._auth = user_info(url)
        self._on_message = on_message
        self._slots: SlotMap | None = None
        self._nodes: dict[str, _SubscriberProtocol] = {}
        self._lost: asyncio.Future[Exception | None] | None = None

    @property
    def connected(self) -> bool:
        return self._lost is not None and not self._lost.done()

    async def connect(self) -> None:
        """Read the slot map and open a connection to every primary (closing any previous)."""
        self.close()
        slots = await read_slot_map(self._seeds, self._cluster_slots, self._auth)
        lost: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        nodes: dict[str, _SubscriberProtocol] = {}
        try:
            for url in slots.primaries:
                nodes[url] = await self._open(url)
                nodes[url].lost.add_done_callback(partial(_pass_on, lost))
        except BaseException:
            for protocol in nodes.values():
                protocol.close()
            raise
        self._slots, self._nodes, self._lost = slots, nodes, lost

    async def _open(self, url: str) -> _SubscriberProtocol:
        address = RedisAddress(url)
        protocol = await address.open(lambda: _SubscriberProtocol(self._on_message))
        try:
            if address.auth:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await protocol.command(*address.auth)
        except BaseException:
            protocol.close()
            raise
        return protocol

    async def _cluster_slots(self, url: str) -> list[Any]:
        protocol = await self._open(url)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                reply: list[Any] = await protocol.command("CLUSTER", "SLOTS")
                return reply
        finally:
            protocol.close()

    async def lost(self) -> Exception | None:
        """Wait until a connection drops or a node gives up a slot; returns why."""
        if self._lost is None:
            return None
        return await asyncio.shield(self._lost)

    async def subscribe(self, *channels: str) -> None:
        """Subscribe and wait until every node confirms its channels."""
        if not self.connected:
            raise RedisConnectionError("pub/sub connection is closed")
        futures = [
            future
            for protocol, command, group in self._route(channels, "SUBSCRIBE")
            for future in protocol.subscribe(group, command)
        ]
        async with asyncio.timeout(CONFIRM_TIMEOUT_S):
            await asyncio.gather(*(asyncio.shield(future) for future in futures))

    def unsubscribe(self, *channels: str) -> None:
        """Unsubscribe; a no-op while disconnected (new connections start empty)."""
        if self.connected:
            for protocol, command, group in self._route(channels, "UNSUBSCRIBE"):
                protocol.unsubscribe(group, command)

    def _route(
        self, channels: tuple[str, ...], command: str
    ) -> list[tuple[_SubscriberProtocol, str, tuple[str, ...]]]:
        """(connection, command, channels) for each node concerned."""
        assert self._slots is not None
        slots = self._slots
        groups: dict[tuple[str, str], list[str]] = {}
        for channel in channels:
            if "{" in channel:
                group = (slots.owner(key_slot(channel)), f"S{command}")
            else:
                group = (slots.primaries[0], command)
            groups.setdefault(group, []).append(channel)
        return [(self._nodes[url], name, tuple(group)) for (url, name), group in groups.items()]

    def close(self) -> None:
        """Close every connection (`lost` returns)."""
        for protocol in self._nodes.values():
            protocol.close()


def _pass_on(lost: "asyncio.Future[Exception | None]", done: "asyncio.Future[Any]") -> None:
    """The first connection of a ClusterSubscriber to end ends them all."""
    if not lost.done():
        lost.set_result(done.result())


def open_subscriber(url: str, on_message: OnMessage) -> Subscriber | ClusterSubscriber:
    """The subscriber for `url`: a ClusterSubscriber for a `redis+cluster://` URL."""
    if is_cluster_url(url):
        return ClusterSubscriber(url, on_message)
    return Subscriber(url, on_message)
