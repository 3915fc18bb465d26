"""Where the classify stage runs. Every engine has one interface,

    engine.run(chunks, stage, sink, timings) -> number of new store rows

`chunks` are message-table DataFrames, `stage` the picklable `StageConfig`, `sink` a function that
takes a chunk's store rows and returns how many were new (the driver's store upsert: DuckDB has
one writer, so results always come back to the driver), `timings` an optional `Timings`.

- `local`: this process.
- `pool`: N worker processes (spawned), each with cores/N threads; at most 2N chunks in flight.
- `dask`: a Dask distributed cluster (a LocalCluster without a scheduler address); chunks are
  submitted as futures, at most 2N in flight, so the driver never holds the whole input and never
  loads the model (workers report their runtime and peak RSS back with their rows).
"""

from __future__ import annotations

import os
import resource
from collections import deque
from dataclasses import replace
from typing import Callable, Iterable, Protocol

import pandas as pd

from .stage import StageConfig, classify_chunk, classify_chunk_timed, runtime_of
from .timings import Timings, clock

Sink = Callable[[pd.DataFrame], int]
ENGINES = ("local", "pool", "dask")


class Engine(Protocol):
    name: str

    def run(self, chunks: Iterable[pd.DataFrame], stage: StageConfig, sink: Sink,
            timings: Timings | None = None) -> int: ...


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _driver_peak(timings: Timings | None) -> None:
    if timings is not None:
        timings.peak("peak RSS MB: driver", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class LocalEngine:
    """Classify in this process, chunk by chunk."""

    name = "local"

    def run(self, chunks, stage, sink, timings=None) -> int:
        new = 0
        for chunk in chunks:
            rows = classify_chunk(chunk, stage, timings)
            with clock(timings, "store: upsert"):
                new += sink(rows)
        if timings is not None:
            timings.count(f"runtime: {runtime_of(stage)}")
        _driver_peak(timings)
        return new


class _Bounded:
    """Submit work, keep at most `limit` results pending, hand them to the sink in order."""

    def __init__(self, sink: Sink, timings: Timings | None, limit: int, result: Callable):
        self.sink, self.timings, self.limit, self.result = sink, timings, limit, result
        self.pending: deque = deque()
        self.new = 0

    def add(self, future) -> None:
        self.pending.append(future)
        while len(self.pending) >= self.limit:
            self.collect()

    def collect(self) -> None:
        rows, worker_timings = self.result(self.pending.popleft())
        if self.timings is not None:
            self.timings.merge(worker_timings)
        with clock(self.timings, "store: upsert"):
            self.new += self.sink(rows)

    def drain(self) -> int:
        while self.pending:
            self.collect()
        _driver_peak(self.timings)
        return self.new


class PoolEngine:
    """N local worker processes."""

    name = "pool"

    def __init__(self, workers: int = 2):
        self.workers = max(1, workers)

    def run(self, chunks, stage, sink, timings=None) -> int:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        stage = replace(stage, threads=stage.threads or max(1, cores() // self.workers))
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn")) as pool:
            work = _Bounded(sink, timings, 2 * self.workers, lambda f: f.result())
            for chunk in chunks:
                work.add(pool.submit(classify_chunk_timed, chunk, stage))
            return work.drain()


class DaskEngine:
    """A Dask distributed cluster: the given scheduler, or a LocalCluster of N processes."""

    name = "dask"

    def __init__(self, workers: int = 2, scheduler: str | None = None):
        self.workers, self.scheduler = max(1, workers), scheduler

    def run(self, chunks, stage, sink, timings=None) -> int:
        from dask.distributed import Client, LocalCluster

        cluster = None
        if self.scheduler:
            client = Client(self.scheduler)
        else:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            stage = replace(stage, threads=stage.threads or max(1, cores() // self.workers))
        try:
            work = _Bounded(sink, timings, 2 * self.workers, lambda f: f.result())
            for chunk in chunks:  # pure=False: a unique key per chunk, whatever else the cluster runs
                work.add(client.submit(classify_chunk_timed, chunk, stage, pure=False))
            return work.drain()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def make_engine(name: str, workers: int = 1, scheduler: str | None = None) -> Engine:
    """The engine called `name` (local | pool | dask)."""
    if name == "local":
        if workers > 1:
            raise ValueError(f"--workers {workers} runs with --engine pool or --engine dask, not local")
        return LocalEngine()
    if name == "pool":
        return PoolEngine(workers)
    if name == "dask":
        return DaskEngine(workers, scheduler)
    raise ValueError(f"unknown engine {name!r} (choose {', '.join(ENGINES)})")
