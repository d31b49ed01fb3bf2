"""Background loops that keep running whatever they raise, until their owner stops them.

A `Supervisor` runs its coroutine function in a task of its own (an attempt)
and starts a new attempt after each one ends, whatever the reason: an
exception, a return, or a cancellation nobody asked for. That last one is real
on Python 3.11: a TaskGroup whose child fails while the parent waits at the end
of its `async with` leaves the parent with `cancelling() == 1` and the next
cancellation check ends it. Such a stray request stays in the attempt's task
and dies with it; the supervisor's own task runs no other code, so only its
owner's `stop()` (or `cancel()`) ends it.

Each restart is counted in `croupier_loop_restarts_total{loop=<name>}`, waits a
back-off that doubles from `min_backoff_s` to `max_backoff_s` (back to the
minimum after an attempt that lasted longer than `max_backoff_s`), and is
logged: the first failure of a kind with its traceback, then at most one line
per kind per `log_interval_s`, with the number of failures in between.

    rounds = Supervisor("crash-rounds", self._campaign, services.metrics)
    rounds.start()        # in the lifespan's startup
    ...
    await rounds.stop()   # in its shutdown: cancels the attempt, waits a bounded time
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from server.logs import LogThrottle
from server.metrics import Metrics

log = logging.getLogger(__name__)


class Supervisor:
    """Runs `run()` again and again, with a back-off, until `stop()`."""

    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[object]],
        metrics: Metrics,
        *,
        min_backoff_s: float = 0.1,
        max_backoff_s: float = 10.0,
        log_interval_s: float = 60.0,
        stop_timeout_s: float = 5.0,
    ) -> None:
        """`run` is called for each attempt; a loop meant to run forever never returns."""
        if not 0 < min_backoff_s <= max_backoff_s:
            raise ValueError("back-offs must satisfy 0 < min_backoff_s <= max_backoff_s")
        self.name = name
        self._run = run
        self._metrics = metrics
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._log_interval_s = log_interval_s
        self._stop_timeout_s = stop_timeout_s
        self._task: asyncio.Task[None] | None = None
        self._logged: dict[str, float] = {}
        """Failure kind -> loop time of its last log line."""
        self._unlogged: Counter[str] = Counter()
        """Failure kind -> failures since its last log line."""
        metrics.loop_restarts.setdefault(name, 0)

    def start(self) -> None:
        """Start supervising (once) in the running event loop."""
        if self._task is not None:
            raise RuntimeError(f"loop {self.name} was already started")
        self._task = asyncio.create_task(self._supervise(), name=self.name)
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        """Cancel the attempt and wait for it to end, at most `stop_timeout_s`."""
        task = self._task
        if task is None:
            return
        task.cancel()
        await asyncio.wait([task])

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = self._min_backoff_s
        while True:
            began = loop.time()
            attempt = asyncio.create_task(self._attempt(), name=f"{self.name}-attempt")
            try:
                await asyncio.wait([attempt])
            except asyncio.CancelledError:
                await self._cancel(attempt)
                raise
            if loop.time() - began > self._max_backoff_s:
                backoff = self._min_backoff_s
            self._metrics.loop_restarts[self.name] += 1
            self._report(attempt, backoff, loop.time())
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_s)

    async def _attempt(self) -> None:
        await self._run()

    async def _cancel(self, attempt: asyncio.Task[None]) -> None:
        """End an attempt on the owner's request; log it if it does not end in time."""
        attempt.cancel()
        done, _ = await asyncio.wait([attempt], timeout=self._stop_timeout_s)
        if not done:
            log.warning("loop %s did not stop within %.1f s", self.name, self._stop_timeout_s)
        elif not attempt.cancelled() and (error := attempt.exception()) is not None:
            log.warning("loop %s failed while stopping", self.name, exc_info=error)

    def _report(self, attempt: asyncio.Task[None], backoff: float, now: float) -> None:
        """Log a failed attempt, one line per kind of failure per interval."""
        error = None
        if attempt.cancelled():
            kind, what = "cancelled", "was cancelled by something other than its owner"
        elif (error := attempt.exception()) is None:
            kind, what = "returned", "returned"
        else:
            kind, what = type(error).__qualname__, f"failed: {type(error).__qualname__}: {error}"
        last = self._logged.get(kind)
        if last is not None and now - last < self._log_interval_s:
            self._unlogged[kind] += 1
            return
        since = self._unlogged.pop(kind, 0)
        also = f" ({since} more times since the last report)" if since else ""
        log.error(
            "loop %s %s%s; restart in %.1f s", self.name, what, also, backoff,
            exc_info=error if last is None else None,
        )  # fmt: skip
        self._logged[kind] = now

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            log.critical("the supervisor of loop %s died", self.name, exc_info=task.exception())


async def passes(
    *, interval_s: float, run_pass: Callable[[], Awaitable[object]], name: str
) -> None:
    """Every `interval_s`, run `run_pass`. A failed pass is logged (one line per kind
    per interval) and the next interval tries again."""
    failures = LogThrottle(log)
    while True:
        await asyncio.sleep(interval_s)
        try:
            await run_pass()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures.failure(name, error)


async def leased_passes(
    redis: Redis,
    *,
    lease_key: str,
    holder: str,
    interval_s: float,
    run_pass: Callable[[], Awaitable[object]],
    name: str,
) -> None:
    """`passes`, each run only if this instance takes the short lease `lease_key` (as
    `holder`): one pass per deployment per interval, whoever runs it."""

    async def run_if_leased() -> None:
        if await redis.set(lease_key, holder, nx=True, px=int(interval_s * 900)):
            await run_pass()

    await passes(interval_s=interval_s, run_pass=run_if_leased, name=name)
