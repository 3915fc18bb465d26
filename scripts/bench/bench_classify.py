"""Benchmark `friction classify` on real traffic: the model folder's pipeline (what the CLI runs),
with and without its screen, next to the naive pipeline timed in the same process, per precision.

    taskset -c 1 python scripts/bench/bench_classify.py 10000 [--precision fp32,bf16] [--model DIR]

Input: see scripts/bench/bench_input.py (real pool as the neutral bulk, 10% friction from the test
splits). Prints messages/s per stage, the screen's pass rate, peak RSS and the ratio against the
naive pipeline. fp32 (FRICTION_PRECISION=fp32) is the figure for ordinary CPUs without native bf16.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from bench_input import Naive, cpu_flags, real_traffic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=10000)
    ap.add_argument("--precision", default="fp32,bf16", help="comma-separated: fp32, bf16")
    ap.add_argument("--model", default=None)
    ap.add_argument("--naive-sample", type=int, default=2000)
    ap.add_argument("--no-full", action="store_true", help="skip the pipeline without its screen")
    args = ap.parse_args()

    from friction.model import load_model
    from friction.settings import refresh_settings
    from friction.timings import Timings

    df = real_traffic(args.n)
    print(f"{len(df)} messages of real traffic, {df['is_friction'].mean():.0%} friction; {cpu_flags()}; "
          f"{len(os.sched_getaffinity(0))} core(s)")
    naive = Naive().rate(df["text"].sample(min(args.naive_sample, len(df)), random_state=1).tolist())
    print(f"naive pipeline (ST encode + LR): {naive:.1f} msg/s")
    frame = df[["id", "text"]]
    for precision in args.precision.split(","):
        os.environ["FRICTION_PRECISION"] = precision
        refresh_settings()  # settings are read once per process: read the changed variable
        pipe = load_model(args.model, precision=precision)
        for name, p in (("pipeline", pipe), ("pipeline --no-cascade", pipe.without("screen"))):
            if args.no_full and p is not pipe:
                continue
            p(frame.head(64))  # warm up
            timings = Timings()
            t0 = time.perf_counter()
            out = p(frame, timings=timings)
            rate = len(frame) / (time.perf_counter() - t0)
            passed = (out["stage"] == "model").mean()
            recall = (out.loc[df["is_friction"], "stage"] == "model").mean()
            print(f"\n{name} [{p.runtime}, {' -> '.join(p.names)}]: {rate:.1f} msg/s = {rate / naive:.1f}x naive; "
                  f"screen passed {passed:.1%} (friction passed {recall:.1%})")
            for stage, secs in sorted(timings.seconds.items(), key=lambda kv: -kv[1]):
                print(f"  {stage:<28} {secs:7.1f} s {len(frame) / max(secs, 1e-9):10.0f} msg/s")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (this one process)")


if __name__ == "__main__":
    main()
