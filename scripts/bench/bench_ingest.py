"""Benchmark ingestion: generate a large mbox, ingest it to Parquet, print messages/s and peak RSS.

    python scripts/bench/bench_ingest.py --messages 200000

Peak RSS is read from the OS (ru_maxrss) in a fresh child process per size, so the figures for
different sizes are comparable and show whether memory stays flat as the input grows.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("pipeline forecast renewal launch pricing campaign review budget deck call customer "
         "quarter ticket release handoff thanks update agenda notes team numbers draft meeting "
         "account region target owner friday monday report dashboard contract invoice").split()


def make_mbox(path: Path, n: int, seed: int = 7) -> None:
    """n plain-text emails with a quoted reply in every third (so cleaning has work to do)."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(15, 80))).capitalize() + "."
            if i % 3 == 0:
                body += "\n\nOn Mon, 4 Mar 2024 at 09:00, Someone <a@b.example> wrote:\n> " + " ".join(
                    rnd.choice(WORDS) for _ in range(30))
            fh.write(
                f"From sender{i % 500}@corp.example Mon Mar  4 09:00:00 2024\n"
                f"Message-ID: <bench-{i}@corp.example>\n"
                f"Date: Mon, 04 Mar 2024 {i % 24:02d}:{i % 60:02d}:00 +0000\n"
                f"From: Person {i % 500} <sender{i % 500}@corp.example>\n"
                f"To: team{i % 17}@corp.example\n"
                f"Subject: {'Re: ' if i % 3 == 0 else ''}{rnd.choice(WORDS)} {rnd.choice(WORDS)}\n"
                f"Content-Type: text/plain; charset=utf-8\n\n{body}\n\n")


def run_one(mbox: Path, out: Path) -> dict:
    from friction.ingest import IngestSummary, read_messages
    from friction.tables import TableWriter

    summary = IngestSummary(echo=False)
    t0 = time.perf_counter()
    with TableWriter(str(out)) as w:
        for chunk in read_messages([str(mbox)], summary=summary):
            w.write(chunk)
    dt = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"messages": summary.kept, "seconds": round(dt, 2), "messages_per_s": round(summary.kept / dt),
            "peak_rss_mb": round(rss_mb)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--sizes", type=str, default="", help="comma-separated sizes to compare (default: N/10 and N)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child[0]), Path(args.child[1]))))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s] or [args.messages // 10, args.messages]
    print(f"{'messages':>10} {'MB in':>8} {'seconds':>8} {'msg/s':>8} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            mbox = Path(tmp) / f"bench-{n}.mbox"
            make_mbox(mbox, n)
            res = json.loads(subprocess.check_output(
                [sys.executable, __file__, "--child", str(mbox), str(Path(tmp) / f"out-{n}.parquet")]))
            print(f"{res['messages']:>10} {mbox.stat().st_size / 1e6:>8.0f} {res['seconds']:>8} "
                  f"{res['messages_per_s']:>8} {res['peak_rss_mb']:>12}")
            mbox.unlink()


if __name__ == "__main__":
    main()
