"""The progress lines: one per interval, printed once every worker has reported it.

Each worker reports at the same ticks of the shared start time (tick k ends
k intervals after the start) with what its users did since its last report.
A line for tick k is made only when every worker still running has reported
tick k or a later one, so no line shows an interval half counted; a worker
whose event loop was held past a tick reports the missed interval with its
next one.
"""

from collections.abc import Iterator

from loadtest.report import progress_line
from loadtest.stats import Stats


class Progress:
    """Gathers the workers' reports into one line per tick."""

    def __init__(self, workers: int, interval_s: float) -> None:
        self._interval_s = interval_s
        self._running = set(range(workers))
        self._reported = dict.fromkeys(range(workers), 0)
        """Worker -> the last tick it reported."""
        self._ticks: dict[int, Stats] = {}
        self._active: dict[int, int] = {}
        """Worker -> users betting at its last report."""
        self._total = Stats()
        self._printed = 0

    def report(self, worker: int, tick: int, stats: Stats, active: int) -> None:
        """Worker `worker`'s counts since its last report, sent at `tick`."""
        self._ticks.setdefault(tick, Stats()).merge(stats)
        self._reported[worker] = tick
        self._active[worker] = active

    def finished(self, worker: int) -> None:
        """The worker sends no more reports."""
        self._running.discard(worker)
        self._active[worker] = 0

    def lines(self) -> Iterator[str]:
        """The lines of every tick all running workers have now reported."""
        if not self._running:
            return
        complete = min(self._reported[worker] for worker in self._running)
        while self._printed < complete:
            self._printed += 1
            interval = self._ticks.pop(self._printed, Stats())
            self._total.merge(interval)
            yield progress_line(
                self._printed * self._interval_s,
                interval,
                self._interval_s,
                self._total,
                sum(self._active.values()),
            )
