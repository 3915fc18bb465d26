"""Where classification runs: a local process pool, or a Dask distributed cluster.

Both call the same `scan.classify_chunk` on message-table chunks; the store is written only by
the driver process (DuckDB allows one writer), so results come back as DataFrames (pool) or as
partitioned Parquet that the store loads (Dask).
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Iterable, Sequence

import pandas as pd

from .scan import StageConfig, _clock, classify_chunk, merge_timings
from .store import Store


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_pool(chunks: Iterable[pd.DataFrame], cfg: StageConfig, store: Store, label_ids: Sequence[str],
             workers: int) -> int:
    """`--workers N`: N processes, each with cores/N torch threads; at most 2N chunks in flight."""
    import multiprocessing as mp

    cfg = replace(cfg, threads=max(1, _cores() // workers))
    new = 0
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        pending = []

        def collect() -> int:
            rows = pending.pop(0).result()
            merge_timings(rows)
            with _clock()("store: upsert"):
                return store.upsert(rows, label_ids)

        for chunk in chunks:
            pending.append(pool.submit(classify_chunk, chunk, cfg))
            while len(pending) >= 2 * workers:
                new += collect()
        while pending:
            new += collect()
    return new


def run_dask(chunks: Iterable[pd.DataFrame], cfg: StageConfig, store: Store, label_ids: Sequence[str],
             scheduler: str | None, workers: int) -> int:
    """`--engine dask`: the ingested chunks become a dask.dataframe (one partition a chunk), which
    `map_partitions(classify_chunk)` classifies on the cluster and writes as partitioned Parquet;
    the store then loads that Parquet. Without --scheduler a LocalCluster is started."""
    import dask
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory(prefix="friction-dask-") as work:
        inbox = os.path.join(work, "messages")
        os.makedirs(inbox)
        n = 0
        for i, chunk in enumerate(chunks):
            chunk.to_parquet(os.path.join(inbox, f"part-{i:06d}.parquet"), index=False)
            n += 1
        if n == 0:
            return 0
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        try:
            cfg = replace(cfg, threads=1 if not scheduler else 0)
            ddf = dd.read_parquet(inbox)
            out = ddf.map_partitions(classify_chunk, cfg, meta=_meta(ddf, cfg))
            results = os.path.join(work, "results")
            with dask.config.set({"dataframe.convert-string": False}):
                out.to_parquet(results, write_index=False)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        new = 0
        for f in sorted(os.listdir(results)):
            if f.endswith(".parquet"):
                new += store.upsert(pd.read_parquet(os.path.join(results, f)), label_ids)
        return new


def _meta(ddf, cfg: StageConfig) -> pd.DataFrame:
    """The output schema, from classifying one real row in this process."""
    sample = ddf.head(1, npartitions=1)
    return classify_chunk(sample, cfg).iloc[0:0]
