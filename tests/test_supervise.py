"""The supervisor of background loops: restarts, back-off, logs, metric, stop."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from server.crash.cancel import check_cancelled
from server.metrics import Metrics
from server.supervise import Supervisor

FAST = {"min_backoff_s": 0.01, "max_backoff_s": 0.04, "stop_timeout_s": 0.5}


async def supervised(
    run: Callable[[], Awaitable[object]], until: asyncio.Event, **options: float
) -> tuple[Supervisor, Metrics]:
    """A started supervisor of `run`, once `until` is set (within a bound)."""
    metrics = Metrics()
    supervisor = Supervisor("test-loop", run, metrics, **{**FAST, **options})
    supervisor.start()
    async with asyncio.timeout(10):
        await until.wait()
    return supervisor, metrics


def restart_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "server.supervise" and r.levelname == "ERROR"]


async def test_a_failing_loop_is_restarted_with_a_capped_back_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0
    sixth = asyncio.Event()

    async def fail() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 6:
            sixth.set()
            await asyncio.Event().wait()
        raise ValueError(f"failure {attempts}")

    supervisor, metrics = await supervised(fail, sixth, log_interval_s=0)
    await supervisor.stop()
    assert metrics.loop_restarts["test-loop"] == 5
    backoffs = [record.args[-1] for record in restart_logs(caplog)]
    assert backoffs == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert 'croupier_loop_restarts_total{loop="test-loop"} 5' in metrics.render()


async def test_one_log_line_per_kind_of_failure_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0
    done = asyncio.Event()

    async def fail() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 8:
            done.set()
            await asyncio.Event().wait()
        raise (KeyError if attempts % 2 else ConnectionError)("down")

    supervisor, metrics = await supervised(fail, done, max_backoff_s=0.01)
    await supervisor.stop()
    assert metrics.loop_restarts["test-loop"] == 7
    logged = restart_logs(caplog)
    assert [record.exc_info[0] for record in logged] == [KeyError, ConnectionError]


async def test_the_back_off_starts_again_after_a_healthy_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts = 0
    done = asyncio.Event()

    async def run() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 4:  # healthy: it runs longer than the longest back-off
            await asyncio.sleep(FAST["max_backoff_s"] * 2)
        if attempts == 6:
            done.set()
            await asyncio.Event().wait()
        raise ValueError(attempts)

    supervisor, _ = await supervised(run, done, log_interval_s=0)
    await supervisor.stop()
    backoffs = [record.args[-1] for record in restart_logs(caplog)]
    assert backoffs == [0.01, 0.02, 0.04, 0.01, 0.02]


async def test_a_loop_that_returns_is_started_again() -> None:
    attempts = 0
    again = asyncio.Event()

    async def run() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            again.set()
            await asyncio.Event().wait()

    supervisor, metrics = await supervised(run, again)
    await supervisor.stop()
    assert metrics.loop_restarts["test-loop"] == 1


async def test_a_cancellation_the_owner_did_not_ask_for_does_not_end_the_loop() -> None:
    """Python 3.11: a TaskGroup whose child fails while its parent waits at the end of
    the block leaves the parent with cancelling() == 1; the next cancellation check
    raises. The attempt ends, the supervisor starts another."""
    attempts = 0
    running = asyncio.Event()

    async def fail_soon() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("child failed")

    async def run() -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(fail_soon())
            except* ValueError:
                pass
            check_cancelled()  # raises CancelledError on Python 3.11 only
            asyncio.current_task().cancel()  # a stray one anywhere
            await asyncio.sleep(0)
        running.set()
        await asyncio.Event().wait()

    supervisor, metrics = await supervised(run, running)
    assert attempts == 2 and metrics.loop_restarts["test-loop"] == 1
    await supervisor.stop()


async def test_stop_cancels_the_attempt_and_waits_a_bounded_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    running = asyncio.Event()
    release = asyncio.Event()
    stubborn = True

    async def run() -> None:
        running.set()
        try:
            await asyncio.Event().wait()
        finally:
            if stubborn:
                await release.wait()  # ignores the cancellation until released

    supervisor, metrics = await supervised(run, running, stop_timeout_s=0.1)
    async with asyncio.timeout(10):
        await supervisor.stop()
    assert any("did not stop within" in record.getMessage() for record in caplog.records)
    assert metrics.loop_restarts["test-loop"] == 0
    release.set()

    stubborn = False
    running.clear()
    supervisor, metrics = await supervised(run, running)
    await supervisor.stop()
    assert metrics.loop_restarts["test-loop"] == 0
    assert restart_logs(caplog) == []
