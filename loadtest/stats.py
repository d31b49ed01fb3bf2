"""Mergeable latency histograms and the counters a worker reports.

A histogram keeps counts in logarithmic buckets 2% wide (so percentiles are
within 2% of the true value), plus the exact count, sum and maximum. Worker
processes send their deltas to the parent as plain dicts, which adds them up.
"""

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_BASE = 1.02
_LOG_BASE = math.log(_BASE)


@dataclass
class Histogram:
    """Latencies in microseconds."""

    buckets: Counter[int] = field(default_factory=Counter)
    count: int = 0
    total: float = 0.0
    max: float = 0.0

    def add(self, micros: float) -> None:
        micros = max(micros, 1.0)
        self.buckets[int(math.log(micros) / _LOG_BASE)] += 1
        self.count += 1
        self.total += micros
        self.max = max(self.max, micros)

    def merge(self, other: "Histogram") -> None:
        self.buckets.update(other.buckets)
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def percentile(self, fraction: float) -> float:
        """The value below which `fraction` of the samples lie (0 when empty)."""
        if not self.count:
            return 0.0
        rank = fraction * self.count
        seen = 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(float(_BASE ** (bucket + 0.5)), self.max)
        return self.max

    def summary_ms(self) -> dict[str, float | int]:
        """count, mean, p50, p95, p99 and max in milliseconds."""
        return {
            "count": self.count,
            "mean": round(self.total / self.count / 1000, 3) if self.count else 0.0,
            "p50": round(self.percentile(0.50) / 1000, 3),
            "p95": round(self.percentile(0.95) / 1000, 3),
            "p99": round(self.percentile(0.99) / 1000, 3),
            "max": round(self.max / 1000, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        return {"b": dict(self.buckets), "n": self.count, "s": self.total, "m": self.max}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Histogram":
        return cls(Counter(data["b"]), data["n"], data["s"], data["m"])


@dataclass
class Stats:
    """What some users did over some time: latencies per op, errors, bets, event lag."""

    ops: dict[str, Histogram] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    bets: int = 0
    lag: Histogram = field(default_factory=Histogram)

    def op(self, name: str, micros: float) -> None:
        histogram = self.ops.get(name)
        if histogram is None:
            histogram = self.ops[name] = Histogram()
        histogram.add(micros)

    def merge(self, other: "Stats") -> None:
        for name, histogram in other.ops.items():
            self.ops.setdefault(name, Histogram()).merge(histogram)
        self.errors.update(other.errors)
        self.bets += other.bets
        self.lag.merge(other.lag)

    def bet_latency(self) -> Histogram:
        """All bet ops together."""
        merged = Histogram()
        for name, histogram in self.ops.items():
            if name.startswith("bet:"):
                merged.merge(histogram)
        return merged

    def take(self) -> dict[str, Any]:
        """The counts so far as a dict; starts counting again from zero."""
        data = self.to_dict()
        self.ops, self.errors, self.bets, self.lag = {}, Counter(), 0, Histogram()
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "ops": {name: h.to_dict() for name, h in self.ops.items()},
            "errors": dict(self.errors),
            "bets": self.bets,
            "lag": self.lag.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Stats":
        return cls(
            {name: Histogram.from_dict(h) for name, h in data["ops"].items()},
            Counter(data["errors"]),
            data["bets"],
            Histogram.from_dict(data["lag"]),
        )
