"""Prototype (not used by the server): coalesce concurrent script calls into pipelines.

Every `await script(keys=..., args=...)` made while the event loop runs one
tick is queued; at the end of the tick the whole queue goes to Redis as one
pipeline (one connection checkout, one write, one read) instead of one
round trip per call. The callers' API is unchanged: `BatchedScript` is a
drop-in for redis-py's `AsyncScript` in `WalletScripts`, so `Wallet` runs on
it as is. A script Redis does not know yet (NOSCRIPT) is loaded and the
affected calls are sent again one by one.

Atomicity is untouched: each EVALSHA still runs alone inside Redis; a
pipeline only shares the trip. A failed pipeline fails every call in it,
exactly as each call would have failed on a dead connection.
"""

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from server.wallet import WalletScripts

_Call = tuple[AsyncScript, list[str], list[str], "asyncio.Future[Any]"]


class ScriptBatcher:
    """Gathers the script calls of one event-loop tick into one pipeline."""

    def __init__(self, redis: Redis, max_batch: int = 512) -> None:
        self._redis = redis
        self._max_batch = max_batch
        self._queue: list[_Call] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, script: AsyncScript, keys: list[str], args: list[str]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((script, keys, args, future))
        if len(self._queue) == 1:
            loop.call_soon(self._flush)
        elif len(self._queue) >= self._max_batch:
            self._flush()
        return await future

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[_Call]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for script, keys, args, _ in batch:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
        except Exception as error:  # the connection failed: every call's outcome is unknown
            for *_, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (script, keys, args, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, NoScriptError):
                retry = asyncio.ensure_future(script(keys=keys, args=args))
                retry.add_done_callback(lambda done, f=future: _copy(done, f))
            elif isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _copy(done: "asyncio.Future[Any]", future: "asyncio.Future[Any]") -> None:
    if future.done():
        return
    if done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())


class BatchedScript:
    """Called like an AsyncScript; the call goes through a ScriptBatcher."""

    def __init__(self, batcher: ScriptBatcher, script: AsyncScript) -> None:
        self._batcher = batcher
        self._script = script

    async def __call__(self, keys: list[str], args: list[str]) -> Any:
        return await self._batcher.call(self._script, keys, args)


def batched_scripts(redis: Redis, scripts: WalletScripts) -> WalletScripts:
    """The same scripts, every call coalesced with the others of its tick."""
    batcher = ScriptBatcher(redis)

    return scripts.wrapped(lambda script: BatchedScript(batcher, script))
