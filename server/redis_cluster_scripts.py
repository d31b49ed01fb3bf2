"""The script runner of server/redis_scripts.py on a Redis Cluster.

One auto-pipelined connection per primary; each call goes to the primary that
serves the slot of its keys (all keys of one call in one slot). Redis answers
a call sent to the wrong node without running it, so these are resent:

* `MOVED`: the slot has a new owner; the slot map is read again (CLUSTER SLOTS).
* `ASK`: the slot is migrating and this key is already on the target; the
  call goes there once, after `ASKING`.
* `NOSCRIPT` or `Function not found`: that node lacks the script; it is loaded
  there (a function library on Redis 7, see server/redis_functions.py).
* `TRYAGAIN`, `CLUSTERDOWN`, or no connection to the owner (a primary that
  died before its replica took over): back off, read the map again, retry,
  a bounded number of times.

A connection that drops while calls are in flight fails them with
ConnectionError, as on one Redis: they may have run, and their callers retry
with the same idempotency key.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.redis_address import RedisAddress
from server.redis_cluster import (
    SlotMap,
    command_slot,
    is_cluster_url,
    keys_slot,
    node_url,
    read_slot_map,
    seed_urls,
    user_info,
)
from server.redis_functions import LuaSource, is_missing
from server.redis_scripts import (
    Arg,
    Pipe,
    ReplicaAcks,
    Script,
    ScriptRunner,
    open_pipe,
)

USER_PUBLISH = "local USER_PUBLISH = 'PUBLISH'"
"""The line of server/wallet/_ledger.lua naming the command that publishes a user's events."""
SHARDED_USER_PUBLISH = "local USER_PUBLISH = 'SPUBLISH'"

MAX_ATTEMPTS = 12
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 1.0
_RETRY_LATER = ("TRYAGAIN", "CLUSTERDOWN")


class ClusterScriptRunner(ScriptRunner):
    """A ScriptRunner on a Redis Cluster named by a `redis+cluster://` URL."""

    def __init__(self, url: str, **options: Any) -> None:
        """`options` as for ScriptRunner (`max_in_flight`, `acks`), per primary."""
        super().__init__(url, **options)  # its one connection stays unused
        self._seeds = seed_urls(url)
        self._auth = user_info(url)
        self._pipes: dict[str, Pipe] = {}
        self._node_locks: dict[str, asyncio.Lock] = {}
        self._slots: SlotMap | None = None
        self._refreshing = asyncio.Lock()

    def prepare(self, source: LuaSource) -> LuaSource:
        """A script's source as loaded on each node (the first time it runs there): it
        publishes a user's events with SPUBLISH (sharded pub/sub)."""
        return LuaSource(
            source.body.replace(USER_PUBLISH, SHARDED_USER_PUBLISH),
            source.helpers.replace(USER_PUBLISH, SHARDED_USER_PUBLISH),
        )

    def call(self, command: tuple[Arg, ...]) -> Awaitable[Any]:
        """Send `command` to the primary of its keys' slot and return its reply."""
        return self._call(lambda _: command, command_slot(command))

    async def run(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run `script` on the primary of its keys' slot, loading it there if needed."""
        return await self._call(
            lambda pipe: script.command(pipe.functions, keys, args), keys_slot(keys), script
        )

    async def _call(
        self,
        command_for: Callable[[Pipe], tuple[Arg, ...]],
        slot: int | None,
        script: Script | None = None,
    ) -> Any:
        backoff = _FIRST_BACKOFF_S
        failure: Exception | None = None
        asked: str | None = None  # the node an ASK sent this call to, for one try
        for _ in range(MAX_ATTEMPTS):
            try:
                slots = self._slots or await self.refresh()
                pipe = await self._node_pipe(asked or slots.owner(slot))
            except RedisConnectionError as error:  # nothing was sent: safe to retry
                failure, asked = error, None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                self._slots = None
                continue
            command = command_for(pipe)
            try:
                if asked is None:
                    return await pipe.send_when_room(command)
                asked = None
                asking = pipe.send(("ASKING",))  # sent together, in this order
                reply = pipe.submit(command)
                await asking
                return await reply
            except ResponseError as error:
                failure = error
                code, _, rest = str(error).partition(" ")
                if code == "MOVED":
                    await self.refresh()
                elif code == "ASK":
                    asked = node_url(self._auth, rest.split()[-1])
                elif script is not None and is_missing(error):
                    await self.load(pipe, script)
                elif code in _RETRY_LATER:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF_S)
                    await self.refresh()
                else:
                    raise
        assert failure is not None
        raise failure

    async def refresh(self) -> SlotMap:
        """Read the slot map again (one read at a time; concurrent callers share it)."""
        current = self._slots
        async with self._refreshing:
            if self._slots is not None and self._slots is not current:
                return self._slots  # another caller read it meanwhile
            known = self._slots.primaries if self._slots is not None else []
            seeds = list(dict.fromkeys([*known, *self._seeds]))
            self._slots = await read_slot_map(seeds, self._cluster_slots, self._auth)
            return self._slots

    async def _cluster_slots(self, url: str) -> list[Any]:
        pipe = await self._node_pipe(url)
        reply: list[Any] = await pipe.send_when_room(("CLUSTER", "SLOTS"))
        return reply

    async def _node_pipe(self, url: str) -> Pipe:
        """The open connection to the node at `url`, opened if needed."""
        pipe = self._pipes.get(url)
        if pipe is not None and pipe.is_open:
            return pipe
        async with self._node_locks.setdefault(url, asyncio.Lock()):
            pipe = self._pipes.get(url)
            if pipe is None or not pipe.is_open:
                pipe = self._pipes[url] = await open_pipe(
                    RedisAddress(url), self._max_in_flight, self._acks
                )
            return pipe

    async def aclose(self) -> None:
        """Close every connection; calls still in flight fail with ConnectionError."""
        for pipe in self._pipes.values():
            pipe.close()
        self._pipes.clear()
        self._slots = None


def script_runner(url: str, acks: ReplicaAcks | None = None) -> ScriptRunner:
    """The script runner for `url`: a cluster's for a `redis+cluster://` URL."""
    if is_cluster_url(url):
        return ClusterScriptRunner(url, acks=acks)
    return ScriptRunner(url, acks=acks)
