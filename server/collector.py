"""The garbage collector of a server process: its pauses timed, its settings for serving.

A full collection scans every object the collector tracks, so its pause grows with
the heap: the modules, classes and functions loaded at start-up, and the objects of
every open socket (about 130 each; at 10,000 sockets a full collection pauses the
process for the better part of a second). `tune_for_serving` moves what exists once
start-up is done into the permanent generation (`gc.freeze`: never scanned again,
still freed by reference counting) and makes full collections rare: CPython
considers one after `old` collections of the middle generation, which come after
`young` x `middle` net new tracked objects; with the defaults (700, 10, 10) that is
every 70,000, and a server opening 10,000 sockets ran about fifteen. Young and middle
collections stay small, hence short. A closed socket leaves no cycle behind (see
`realtime.wire.release`), so garbage does not wait for the rare full collections.
"""

import gc
import time
from typing import Any

THRESHOLDS = (1_000, 10, 1_000)
"""young, middle, old for `gc.set_threshold`: a full collection is considered after
10,000,000 net new tracked objects (and only if the old generation grew by 25%)."""
GENERATIONS = 3


class GcPauses:
    """Every collection's pause, timed by a `gc.callbacks` entry: count, total and
    longest per generation, and for the middle and old generations the longest in
    CPU time (the wall-clock pause also counts any time the process waited for a
    core). Young collections, the most frequent and bounded by the young threshold,
    skip the CPU clock: reading it costs a system call (about 2.5 us here)."""

    def __init__(self) -> None:
        self.count = [0] * GENERATIONS
        self.total_s = [0.0] * GENERATIONS
        self.max_s = [0.0] * GENERATIONS
        self.max_cpu_s = [0.0] * GENERATIONS
        self._started = (0.0, 0.0)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time() if generation else 0.0)
            return
        pause = time.perf_counter() - self._started[0]
        self.count[generation] += 1
        self.total_s[generation] += pause
        self.max_s[generation] = max(self.max_s[generation], pause)
        if generation:
            cpu = time.thread_time() - self._started[1]
            self.max_cpu_s[generation] = max(self.max_cpu_s[generation], cpu)

    def start(self) -> None:
        """Time the collections of this process from now on."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def stop(self) -> None:
        """Stop timing them."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def render(self) -> list[str]:
        """Prometheus lines: a summary (count and sum) and the longest pause, per generation."""
        lines = [
            "# HELP croupier_gc_pause_seconds Garbage-collection pauses, by generation"
            " (2: full collections).",
            "# TYPE croupier_gc_pause_seconds summary",
        ]
        for generation in range(GENERATIONS):
            label = f'{{generation="{generation}"}}'
            lines += [
                f"croupier_gc_pause_seconds_count{label} {self.count[generation]}",
                f"croupier_gc_pause_seconds_sum{label} {self.total_s[generation]:.6f}",
            ]
        lines += [
            "# HELP croupier_gc_pause_max_seconds Longest garbage-collection pause since the"
            " process started, by generation.",
            "# TYPE croupier_gc_pause_max_seconds gauge",
        ]
        lines += [
            f'croupier_gc_pause_max_seconds{{generation="{generation}"}} {pause:.6f}'
            for generation, pause in enumerate(self.max_s)
        ]
        lines += [
            "# HELP croupier_gc_pause_max_cpu_seconds CPU time of the collection that used the"
            " most, generations 1 and 2 (without the time the process waited for a core).",
            "# TYPE croupier_gc_pause_max_cpu_seconds gauge",
        ]
        lines += [
            f'croupier_gc_pause_max_cpu_seconds{{generation="{generation}"}} {cpu:.6f}'
            for generation, cpu in enumerate(self.max_cpu_s)
            if generation
        ]
        return lines


def tune_for_serving() -> None:
    """Freeze the objects start-up made and make full collections rare; call once the
    app's long-lived parts exist (in each worker process)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
