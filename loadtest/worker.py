"""A worker process of the load test: runs its share of the users, then audits them.

It reports to the parent through a queue: ("ready", worker), then at every
progress tick ("stats", worker, tick, counts since the last report, active
users), and at the end ("done", worker, last counts, user results, time the
last user stopped betting). Tick k falls k progress intervals after the start
time all workers share.
"""

import asyncio
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import httpx

from loadtest.audit import audit_player
from loadtest.options import LoadOptions
from loadtest.stats import Stats
from loadtest.user import Player, SetupError

START_WAIT_S = 120.0
AUDITS_AT_ONCE = 8


def event_loop_runner() -> asyncio.Runner:
    """An asyncio runner on uvloop when it is installed (as uvicorn[standard] does)."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop  # noqa: PLC0415

        factory = uvloop.new_event_loop
    return asyncio.Runner(loop_factory=factory)


def worker_main(
    options: LoadOptions, worker: int, *, users: list[int], out: Any, go: Any, start_at: Any
) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    out.put(("ready", worker))
    if not go.wait(START_WAIT_S):
        return
    with event_loop_runner() as runner:
        runner.run(_work(options, worker, users, out, start_at.value))


class _Worker:
    def __init__(self, options: LoadOptions, http: httpx.AsyncClient, start_at: float) -> None:
        self.options = options
        self.http = http
        self.start_at = start_at
        self.deadline = start_at + options.duration_s
        self.stats = Stats()
        self.active = 0
        self.stopped_at = start_at
        self.audits = asyncio.Semaphore(AUDITS_AT_ONCE)

    async def user(self, index: int) -> dict[str, Any]:
        options = self.options
        ramp = options.ramp_s * index / options.users
        await asyncio.sleep(max(0.0, self.start_at + ramp - time.time()))
        result: dict[str, Any] = {
            "user": None, "setup_failed": None, "bets": 0, "recovered": 0, "unresolved": 0,
            "entries": 0, "problems": [], "acknowledged": [],
        }  # fmt: skip
        player = Player(index, options, self.stats, self.http)
        try:
            await player.start()
        except SetupError as error:
            self.stats.errors[error.code] += 1
            result["setup_failed"] = str(error)
            await player.close()
            return result
        result["user"] = player.user_id
        crashed: list[str] = []
        self.active += 1
        try:
            await player.run(self.deadline)
        except Exception as error:  # a bug here or an unexpected reply: report it, audit anyway
            self.stats.errors["EXCEPTION"] += 1
            crashed.append(f"the betting loop failed: {type(error).__name__}: {error}")
        finally:
            self.active -= 1
            self.stopped_at = max(self.stopped_at, time.time())
        result["bets"] = player.placed
        result["acknowledged"] = player.acknowledged
        result["recovered"], result["unresolved"] = player.recovered, player.unresolved
        try:
            async with self.audits, asyncio.timeout(options.audit_timeout_s):
                problems, result["entries"] = await audit_player(player)
            result["problems"] = problems + crashed
        except (httpx.HTTPError, TimeoutError) as error:
            result["problems"] = [f"audit failed: {type(error).__name__}: {error}"]
        await player.close()
        return result

    async def report(self, out: Any, worker: int) -> None:
        interval = self.options.progress_s
        tick = 0
        while True:
            await asyncio.sleep(max(0.0, self.start_at + (tick + 1) * interval - time.time()))
            tick = max(tick + 1, int((time.time() - self.start_at) / interval))
            out.put(("stats", worker, tick, self.stats.take(), self.active))


async def _work(
    options: LoadOptions, worker: int, users: list[int], out: Any, start_at: float
) -> None:
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(
        base_url=options.http_url, timeout=options.timeout_s, limits=limits
    ) as http:
        state = _Worker(options, http, start_at)
        reporter = asyncio.create_task(state.report(out, worker)) if options.progress_s else None
        results = await asyncio.gather(*(state.user(index) for index in users))
        if reporter is not None:
            reporter.cancel()
    out.put(("done", worker, state.stats.take(), results, state.stopped_at))
