"""Lua scripts on Redis, called through one auto-pipelined connection.

Every balance change is one EVALSHA, so the cost of a script call outside
Redis bounds the whole server. A general client such as redis-py pays a pool
checkout, a timeout context, command packing in Python and one write and one
read per call. Here each call is packed by hiredis (C) into an output buffer
that is written once per event-loop iteration, and replies are paired with
their callers in order by a hiredis reader: concurrent calls share writes and
reads, and none waits for a free connection. Each script still runs alone and
atomically in Redis; pipelining only shares the trip.

If the connection drops, every call in flight fails with ConnectionError.
Such a call may or may not have run, which is why every script that moves
money takes an idempotency key: the caller retries with the same key. The
next call reconnects.

On Redis 7 and newer each script is a function library (FCALL): its shared
helpers are defined once, when the library loads, instead of on every call as
with EVALSHA (see server/redis_functions.py). Redis 6.2 gets EVALSHA.
"""

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.redis_address import CONNECT_TIMEOUT_S, RedisAddress
from server.redis_functions import (
    LuaSource,
    function_library,
    has_functions,
    is_missing,
    library_name,
    loaded_elsewhere,
    reply_dict,
    retire_stale_libraries,
    stamp_library,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_IN_FLIGHT = 16_384

Arg = str | int


class Pipe(asyncio.Protocol):
    """One Redis connection: commands written once per loop iteration, replies
    matched to their callers in order."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, max_in_flight: int, acks: "ReplicaAcks | None"
    ) -> None:
        self._loop = loop
        self._acks = acks
        self._acked: asyncio.Future[int] | None = None  # the WAIT after this flush
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._out: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._max_in_flight = max_in_flight
        self._room = asyncio.Event()
        self.functions = False
        """Whether this server runs function libraries (FCALL): Redis 7 and newer."""
        self.retired = False
        """Whether stale libraries were retired on this server since this connection opened."""

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    @property
    def full(self) -> bool:
        return len(self._waiting) >= self._max_in_flight

    async def room(self) -> None:
        """Wait until the calls in flight fall to half the limit (or the connection drops)."""
        self._room.clear()
        await self._room.wait()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            future = self._waiting.popleft()
            if future.done():  # its caller was cancelled; the reply is dropped
                continue
            if isinstance(reply, ResponseError):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        if len(self._waiting) <= self._max_in_flight // 2:
            self._room.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._out.clear()
        error = RedisConnectionError(f"connection to Redis lost ({exc or 'closed'})")
        if self._acked is not None:
            self._waiting.append(self._acked)
            self._acked = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
        self._room.set()

    def send(self, args: tuple[Arg, ...]) -> "asyncio.Future[Any]":
        """Queue one command; its reply (or ResponseError) resolves the future."""
        if self._transport is None:
            raise RedisConnectionError("connection to Redis is closed")
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(hiredis.pack_command(args))  # type: ignore[arg-type]  # stub: 1-tuple
        future = self._loop.create_future()
        self._waiting.append(future)
        return future

    def submit(self, command: tuple[Arg, ...]) -> Awaitable[Any]:
        """`send`; a script's reply only once enough replicas have its writes, if this
        connection waits for replica acknowledgements."""
        reply = self.send(command)
        if self._acks is None or command[0] not in ("FCALL", "EVALSHA", "EVAL"):
            return reply
        if self._acked is None:
            self._acked = self._loop.create_future()
        return _acknowledged(reply, self._acked, self._acks.replicas)

    async def send_when_room(self, command: tuple[Arg, ...]) -> Any:
        """`submit` once fewer than `max_in_flight` calls wait; returns the reply."""
        while self.full:
            await self.room()
        return await self.submit(command)

    def _flush(self) -> None:
        if self._acked is not None and self._acks is not None:
            # One WAIT for every script of this write: it answers once that many
            # replicas acknowledged all of them (or the timeout passed).
            self._out.append(hiredis.pack_command(self._acks.command))  # type: ignore[arg-type]
            self._waiting.append(self._acked)
            self._acked = None
        if self._transport is not None and self._out:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


@dataclass(frozen=True, slots=True)
class ReplicaAcks:
    """Scripts answer only once `replicas` replicas have their writes (WAIT)."""

    replicas: int
    timeout_ms: int

    @property
    def command(self) -> tuple[Arg, ...]:
        return ("WAIT", self.replicas, self.timeout_ms)


async def _acknowledged(
    reply: "asyncio.Future[Any]", acked: "asyncio.Future[int]", replicas: int
) -> Any:
    """The reply of a script once the WAIT after it counted `replicas` acknowledgements.

    Fewer in time: the script ran but might not survive a failover, an unknown
    outcome like a dropped connection (the caller retries with its key).
    """
    try:
        result = await reply
    except BaseException:
        acked.add_done_callback(_retrieved)  # the other scripts of the write may await it
        raise
    count = await asyncio.shield(acked)  # shared by every script of the write
    if count < replicas:
        raise RedisConnectionError(
            f"{count} of {replicas} replicas acknowledged the write in time: outcome unknown"
        )
    return result


def _retrieved(future: "asyncio.Future[Any]") -> None:
    if not future.cancelled():
        future.exception()


async def open_pipe(
    address: RedisAddress, max_in_flight: int, acks: ReplicaAcks | None = None
) -> Pipe:
    """A pipelined connection to `address`, authenticated and on its database."""
    loop = asyncio.get_running_loop()
    pipe = await address.open(lambda: Pipe(loop, max_in_flight, acks))
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            if address.auth:
                await pipe.send(address.auth)
            if address.db:
                await pipe.send(("SELECT", address.db))
            hello = reply_dict(await pipe.send(("HELLO", "2")))
            pipe.functions = has_functions(hello["version"])
    except BaseException:
        pipe.close()
        raise
    return pipe


class ScriptRunner:
    """Runs Lua scripts (and plain commands) on one auto-pipelined Redis connection,
    opened on first use and again after it drops.

    At most `max_in_flight` calls wait for replies at once; more callers wait
    here until half of those are answered, so a burst costs bounded memory in
    this process and in Redis. With `acks`, a script's reply comes once that
    many replicas have its writes (see ReplicaAcks).
    Standalone Redis; `server.redis_cluster_scripts.ClusterScriptRunner` is
    the same on a Redis Cluster, with one such connection per primary.
    """

    def __init__(
        self,
        url: str,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        acks: ReplicaAcks | None = None,
    ) -> None:
        self._url = url
        self._max_in_flight = max_in_flight
        self._acks = acks
        self._pipe: Pipe | None = None
        self._connecting = asyncio.Lock()

    def script(self, source: LuaSource | str) -> "Script":
        """A script bound to this runner (loaded into Redis on first use); a plain
        string is a script without helpers."""
        return Script(
            self, self.prepare(source if isinstance(source, LuaSource) else LuaSource(source))
        )

    def prepare(self, source: LuaSource) -> LuaSource:
        """A script's source as this runner loads it: as it is, on one Redis."""
        return source

    async def execute(self, *args: Arg) -> Any:
        """Send one command and return its reply; a Redis error reply raises ResponseError.

        Never a blocking command (BLPOP, WAIT...): it would hold up every call behind it.
        """
        return await self.call(args)

    def call(self, command: tuple[Arg, ...]) -> "Awaitable[Any]":
        """`execute` with the command as one tuple: the pending reply itself
        while the connection is open and has room (no extra coroutine)."""
        pipe = self._pipe
        if pipe is not None and pipe.is_open and not pipe.full:
            return pipe.submit(command)
        return self._call_when_ready(command)

    async def _call_when_ready(self, command: tuple[Arg, ...]) -> Any:
        pipe = self._pipe
        if pipe is None or not pipe.is_open:
            pipe = await self._connect()
        return await pipe.send_when_room(command)

    async def run(self, script: "Script", keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run `script` on `keys` with `args`, loading it first if Redis lacks it."""
        pipe = self._pipe
        if pipe is None or not pipe.is_open:
            pipe = await self._connect()
        command = script.command(pipe.functions, keys, args)
        try:
            return await (pipe.send_when_room(command) if pipe.full else pipe.submit(command))
        except ResponseError as error:
            if not is_missing(error):
                raise
        await self.load(pipe, script)
        return await pipe.send_when_room(command)

    async def load(self, pipe: Pipe, script: "Script") -> None:
        """Load `script` on the server of `pipe`: a function library on Redis 7 (stamped
        as in use; the first load on a connection also retires stale libraries there),
        else into the script cache."""
        if not pipe.functions:
            await pipe.send_when_room(("SCRIPT", "LOAD", script.source))
            return
        await stamp_library(self.call, script.function)  # first: no clean-up takes it
        try:
            await pipe.send_when_room(("FUNCTION", "LOAD", script.library))
        except ResponseError as error:
            if not loaded_elsewhere(error):
                raise
        if not pipe.retired:
            pipe.retired = True
            try:
                await retire_stale_libraries(pipe.send_when_room, self.call)
            except ResponseError as error:  # e.g. a user not allowed FUNCTION LIST
                log.warning("stale function libraries not retired: %s", error)

    async def _connect(self) -> Pipe:
        async with self._connecting:
            if self._pipe is None or not self._pipe.is_open:
                address = RedisAddress(self._url)
                self._pipe = await open_pipe(address, self._max_in_flight, self._acks)
            return self._pipe

    async def aclose(self) -> None:
        """Close the connection; calls still in flight fail with ConnectionError."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None


class Script:
    """A Lua script: a function library called with FCALL on Redis 7 and newer, else
    called by SHA (EVALSHA); loaded again if Redis lost it."""

    __slots__ = ("_runner", "function", "library", "sha", "source")

    def __init__(self, runner: ScriptRunner, source: LuaSource) -> None:
        self._runner = runner
        self.source = source.text
        """The whole script as EVAL runs it: helpers, then body."""
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()  # Redis names scripts by SHA-1
        self.function = library_name(self.sha)
        """The name of its library and of the one function in it."""
        self.library = function_library(self.function, source)

    def command(self, functions: bool, keys: Sequence[str], args: Sequence[Arg]) -> tuple[Arg, ...]:
        """The call of this script on `keys` with `args`: FCALL if `functions`, else EVALSHA."""
        if functions:
            return ("FCALL", self.function, len(keys), *keys, *args)
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    def __call__(self, keys: Sequence[str], args: Sequence[Arg] = ()) -> Awaitable[Any]:
        """Run the script on `keys` with `args`; the awaitable gives what the script
        returns (the runner's coroutine itself: no extra one per call)."""
        return self._runner.run(self, keys, args)
