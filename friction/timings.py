"""Seconds per step and counts, collected by whoever asks for them (a benchmark, the CLI).

A `Timings` object is passed down explicitly: to the pipeline, the stage and the engines. Worker
processes fill their own and send it back as a plain dict (`as_dict`), which the driver `merge`s.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from typing import Iterator


class Timings:
    """`with timings.clock("step"):` adds the step's wall time; `count("key", n)` adds to a count;
    `peak("key", value)` keeps a maximum (e.g. each process's peak RSS)."""

    def __init__(self) -> None:
        self.seconds: Counter = Counter()
        self.counts: Counter = Counter()
        self.peaks: dict[str, float] = {}

    @contextlib.contextmanager
    def clock(self, step: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - t0

    def count(self, key: str, n: float = 1) -> None:
        self.counts[key] += n

    def peak(self, key: str, value: float) -> None:
        self.peaks[key] = max(value, self.peaks.get(key, value))

    def as_dict(self) -> dict:
        return {"seconds": dict(self.seconds), "counts": dict(self.counts), "peaks": dict(self.peaks)}

    def merge(self, other: "dict | Timings | None") -> None:
        """Add another process's figures (its `as_dict()`, or a Timings)."""
        if other is None:
            return
        d = other.as_dict() if isinstance(other, Timings) else other
        self.seconds.update(d.get("seconds", {}))
        self.counts.update(d.get("counts", {}))
        for k, v in d.get("peaks", {}).items():
            self.peak(k, v)


def clock(timings: Timings | None, step: str):
    """`timings.clock(step)`, or a no-op without a Timings."""
    return timings.clock(step) if timings is not None else contextlib.nullcontext()
