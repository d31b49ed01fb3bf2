"""Prototype (not used by the server): script calls auto-pipelined on one raw connection.

redis-py spends most of a call's time outside Redis: a pool checkout and
release, a timeout context, command packing in Python, a write syscall and a
read per call. Here every call is packed by hiredis (C), appended to an
output buffer that is written once per event-loop tick, and its future is
queued; replies come back in order on the same connection and a hiredis
Reader pairs them with the queued futures. Many calls share each write and
each read, and no call waits for a connection.

`pipelined_scripts` returns `WalletScripts` whose members are called like
redis-py's AsyncScript, so the unchanged `Wallet` runs on them. Atomicity is
untouched (each EVALSHA still runs alone in Redis). A production version
would reconnect with backoff, fail the queued calls when the connection drops
(outcome unknown: the caller retries with the same idempotency key, as today)
and bound the queue.
"""

import asyncio
from collections import deque
from typing import Any, cast
from urllib.parse import urlsplit

import hiredis
from redis.commands.core import AsyncScript

from server.wallet import WalletScripts


class _Protocol(asyncio.Protocol):
    """One Redis connection: commands written per tick, replies matched in order."""

    def __init__(self) -> None:
        self._reader = hiredis.Reader(encoding="utf-8")
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._out: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    @property
    def open(self) -> bool:
        return self._transport is not None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            future = self._waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        error = ConnectionError(f"redis connection lost: {exc}")
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def call(self, args: tuple[str | int, ...]) -> "asyncio.Future[Any]":
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(hiredis.pack_command(args))  # type: ignore[arg-type]  # stub: 1-tuple
        future: asyncio.Future[Any] = self._loop.create_future()
        self._waiting.append(future)
        return future

    def _flush(self) -> None:
        if self._transport is not None:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class AutoPipeline:
    """A Redis client for script calls: one connection, opened on first use and
    again after it drops; every call made during a tick shares one write."""

    def __init__(self, url: str) -> None:
        self._url = urlsplit(url)
        self._protocol: _Protocol | None = None
        self._connecting = asyncio.Lock()

    async def call(self, *args: str | int) -> Any:
        """Send one command and return its reply (a ReplyError is raised)."""
        protocol = self._protocol
        if protocol is None or not protocol.open:
            protocol = await self._connect()
        return await protocol.call(args)

    async def _connect(self) -> _Protocol:
        async with self._connecting:
            if self._protocol is None or not self._protocol.open:
                loop = asyncio.get_running_loop()
                if self._url.scheme == "unix":
                    _, self._protocol = await loop.create_unix_connection(_Protocol, self._url.path)
                else:
                    host, port = self._url.hostname or "127.0.0.1", self._url.port or 6379
                    _, self._protocol = await loop.create_connection(_Protocol, host, port)
            return self._protocol

    def close(self) -> None:
        if self._protocol is not None:
            self._protocol.close()


class PipelinedScript:
    """Called like redis-py's AsyncScript: EVALSHA on the shared connection."""

    def __init__(self, pipeline: AutoPipeline, script: AsyncScript) -> None:
        self._pipeline = pipeline
        self._script = script

    async def __call__(self, keys: list[str], args: list[str]) -> Any:
        call = ("EVALSHA", self._script.sha, len(keys), *keys, *args)
        try:
            return await self._pipeline.call(*call)
        except hiredis.ReplyError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
            await self._pipeline.call("SCRIPT", "LOAD", self._script.script)
            return await self._pipeline.call(*call)


def pipelined_scripts(pipeline: AutoPipeline, scripts: WalletScripts) -> WalletScripts:
    """The same scripts, called through `pipeline`."""

    return scripts.wrapped(lambda script: PipelinedScript(pipeline, script))
