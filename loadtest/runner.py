"""The parent process: starts the workers, shows progress, merges and reports.

Every loop here is bounded: workers get a fixed time to start, the run its
duration plus the op timeout, the audit its own limit; a worker still alive
after that is killed and the run fails.
"""

import json
import multiprocessing
import queue
import sys
import time
from typing import Any

from loadtest.games import CRASH_ROUND_S
from loadtest.options import LoadOptions
from loadtest.progress import Progress
from loadtest.report import build_report
from loadtest.stats import Stats
from loadtest.worker import START_WAIT_S, worker_main

EXIT_OK, EXIT_DISCREPANCY, EXIT_FAILED = 0, 1, 3


class WorkersFailedError(Exception):
    """A worker died or did not finish in time."""


def run(options: LoadOptions) -> tuple[int, dict[str, Any]]:
    """Run the load test; returns the exit status and the report."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    go = context.Event()
    start_cell = context.Value("d", 0.0)
    groups = [list(range(options.users))[w :: options.workers] for w in range(options.workers)]
    workers = [
        context.Process(
            target=worker_main,
            args=(options, number),
            kwargs={"users": group, "out": out, "go": go, "start_at": start_cell},
            name=f"loadtest-worker-{number}",
        )
        for number, group in enumerate(groups)
    ]
    for worker in workers:
        worker.start()
    try:
        return _supervise(options, workers, out, go, start_cell)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(5)


def _supervise(
    options: LoadOptions, workers: list[Any], out: Any, go: Any, start_cell: Any
) -> tuple[int, dict[str, Any]]:
    ready = 0
    deadline = time.time() + START_WAIT_S
    while ready < len(workers):
        kind, *_ = _next(out, workers, deadline)
        ready += kind == "ready"
    start_at = time.time() + 0.1
    start_cell.value = start_at
    go.set()

    total = Stats()
    progress = Progress(len(workers), options.progress_s)
    results: list[dict[str, Any]] = []
    stopped_at = start_at
    done = 0
    # The last round starts before the end of the duration: its retries end within
    # the retry window and two op timeouts (a reply's and a reconnect's), and a Crash
    # bet is then followed for at most CRASH_ROUND_S.
    last_round_s = options.retry_window_s + 2 * options.timeout_s + CRASH_ROUND_S
    run_end = start_at + options.duration_s + last_round_s
    deadline = run_end + options.audit_timeout_s
    while done < len(workers):
        message = _next(out, workers, deadline)
        if message[0] == "stats":
            _, worker, tick, counts, active = message
            stats = Stats.from_dict(counts)
            total.merge(stats)
            progress.report(worker, tick, stats, active)
        elif message[0] == "done":
            _, worker, counts, user_results, worker_stopped = message
            total.merge(Stats.from_dict(counts))
            results.extend(user_results)
            stopped_at = max(stopped_at, worker_stopped)
            progress.finished(worker)
            done += 1
        for line in progress.lines():
            print(line, file=sys.stderr, flush=True)
    report = build_report(options, total, stopped_at - start_at, results)
    if options.acknowledged_path:
        write_acknowledged(options.acknowledged_path, results)
    return _status(report), report


def write_acknowledged(path: str, results: list[dict[str, Any]]) -> None:
    """Write the keyed ops the server acknowledged, per user id, as JSON to `path`."""
    acknowledged = {u["user"]: u["acknowledged"] for u in results if u["user"]}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(acknowledged, file)


def _status(report: dict[str, Any]) -> int:
    """OK; else DISCREPANCY when an audit found one (or no bet settled); else FAILED,
    as users could not be set up."""
    if report["ok"]:
        return EXIT_OK
    if report["setup_failed"]["users"] and not report["audit"]["users_with_problems"]:
        return EXIT_FAILED
    return EXIT_DISCREPANCY


def _next(out: Any, workers: list[Any], deadline: float, wait: float = 0.5) -> tuple[Any, ...]:
    """The next worker message, or ("tick",) after `wait`; raises if a worker died."""
    try:
        message: tuple[Any, ...] = out.get(timeout=wait)
        return message
    except queue.Empty:
        dead = [w.name for w in workers if w.exitcode not in (None, 0)]
        if dead:
            raise WorkersFailedError(f"worker processes died: {', '.join(dead)}") from None
        if time.time() > deadline:
            raise WorkersFailedError("the workers did not finish in time") from None
        return ("tick",)
