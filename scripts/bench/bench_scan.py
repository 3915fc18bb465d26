"""Benchmark a whole `friction scan` on real traffic: per-stage messages/s, peak RSS of every
process, the screen's pass rate, and the ratio against the naive pipeline timed in the same run,
once per precision (fp32 is the figure for ordinary CPUs; bf16 beside it where the CPU has it).

    taskset -c 1 python scripts/bench/bench_scan.py 10000 [--engine pool --workers 2] [--precision fp32,bf16]

Input: scripts/bench/bench_input.py (the real pool as the neutral bulk, 10% friction from the test
splits), written as a Parquet message table (authors from the demo roster, four quarters of
timestamps); each precision scans it into a fresh store.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench_input import ROOT, Naive, cpu_flags, real_traffic


def write_input(n: int, path: Path, seed: int = 0) -> pd.DataFrame:
    df = real_traffic(n, seed=seed)
    rng = np.random.default_rng(seed)
    roster = pd.read_csv(ROOT / "corpora" / "demo" / "roster.csv")["email"].to_numpy()
    start = pd.Timestamp("2025-01-01", tz="UTC").value
    table = pd.DataFrame({
        "id": df["id"],
        "timestamp": pd.to_datetime(np.sort(rng.integers(start, start + pd.Timedelta(days=364).value, len(df))), utc=True),
        "author": rng.choice(roster, len(df)), "recipients": rng.choice(roster, len(df)),
        "channel": np.where(df["source"].isin(["enron", "kernel"]), "email",
                            np.where(df["source"].isin(["icsi", "committee"]), "meeting", "chat")),
        "text": df["text"]})
    table.to_parquet(path, index=False)
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--engine", default="local", choices=["local", "pool", "dask"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--precision", default="fp32,bf16")
    ap.add_argument("--no-cascade", action="store_true")
    ap.add_argument("--naive-sample", type=int, default=2000)
    ap.add_argument("--keep", default=None, help="keep the stores and reports in this folder")
    args = ap.parse_args()

    from friction.scan import ScanOptions, run_scan
    from friction.timings import Timings

    work = Path(args.keep or tempfile.mkdtemp(prefix="friction-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    df = write_input(args.n, work / "input.parquet")
    print(f"{len(df)} messages of real traffic, {df['is_friction'].mean():.0%} friction; {cpu_flags()}; "
          f"{len(os.sched_getaffinity(0))} core(s); engine {args.engine}, {args.workers} worker(s)")
    naive = Naive().rate(df["text"].sample(min(args.naive_sample, len(df)), random_state=1).tolist())
    print(f"naive pipeline (ST encode + LR), in this process: {naive:.1f} msg/s")
    for precision in args.precision.split(","):
        timings = Timings()
        t0 = time.perf_counter()
        result = run_scan(ScanOptions(inputs=[str(work / "input.parquet")], db=str(work / f"{precision}.duckdb"),
                                      out=str(work / f"report-{precision}"),
                                      roster=str(ROOT / "corpora" / "demo" / "roster.csv"), engine=args.engine,
                                      workers=args.workers, cascade=not args.no_cascade, progress=False,
                                      precision=precision, timings=timings))
        total = time.perf_counter() - t0
        n = result["ingest"]["kept"]
        read = timings.counts.get("messages read by the transformer", 0)
        print(f"\n{precision} (runtime {', '.join(result['runtime'])}): {n / total:.1f} msg/s end to end "
              f"= {n / total / naive:.1f}x naive; screen passed {read / max(n, 1):.1%} to the transformer")
        if args.workers > 1:
            print(f"  stage seconds are summed over {args.workers} workers")
        for stage, secs in sorted(timings.seconds.items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<36} {secs:8.1f} s {n / max(secs, 1e-9):10.0f} msg/s")
        for proc, mb in sorted(timings.peaks.items()):
            print(f"  {proc:<36} {mb:8.0f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
