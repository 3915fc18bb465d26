"""Benchmark the report build on a synthetic store: the driver's peak RSS and wall time.

    nice -n 19 python scripts/bench/bench_report.py 100000 [--db /tmp/bench-100k.duckdb] [--code DIR]

The store is written directly through the Store API (no model): eight quarters, twelve teams
(one of three people, so suppression has work to do), a few thousand pseudonymous authors, a few
per cent flagged across the seven default labels with evidence and context on flagged rows,
token bags on every row, threads with replies and requests. An existing --db is reused, so the
same store can be measured before and after a change. The report is then built in a fresh child
process (friction imported from --code, by default this checkout), and its peak RSS (wait4's
rusage of that child, and its own VmHWM) and wall time are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
LABELS = ("blame", "budget_rivalry", "goal_mismatch", "communication_breakdown", "role_confusion",
          "culture_clash", "strategy_misalignment")
TEAMS = ("Sales", "Marketing", "Engineering", "Ops", "Finance", "Legal", "Support", "Product", "Design",
         "Data", "People", "Security")
#: People per team (Security is three people: pairs aimed at it are hidden).
TEAM_SIZES = (520, 380, 900, 300, 160, 40, 420, 260, 120, 200, 90, 3)
#: (author team, target team) indices where friction runs high, one of them aimed at Security.
HOT_PAIRS = ((0, 1), (2, 3), (6, 2), (7, 2), (1, 0), (0, 11))


def vocabulary(rng: np.random.Generator, size: int = 4000) -> np.ndarray:
    """Made-up lower-case words, as token bags hold them (stop words and names already gone)."""
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(4, 10, size)
    return np.array(sorted({"".join(rng.choice(letters, n)) for n in lengths}))


def synthetic_chunk(start: int, n: int, total: int, rng: np.random.Generator, words: np.ndarray,
                    authors: np.ndarray, author_team: np.ndarray) -> pd.DataFrame:
    """Rows start..start+n of a store of `total` messages, in time order."""
    idx = np.arange(start, start + n)
    t0 = pd.Timestamp("2024-01-01", tz="UTC").value
    span = pd.Timedelta(days=730).value
    ts = pd.to_datetime(t0 + (idx * (span // total)) + rng.integers(0, span // total, n), utc=True)
    who = rng.integers(0, len(authors), n)
    private = rng.random(n) < 0.002  # a small channel of four people: its share is hidden
    who[private] = rng.integers(0, 4, private.sum())
    team = author_team[who]
    weights = np.array(TEAM_SIZES, dtype=float) / sum(TEAM_SIZES)
    aim = rng.choice(len(TEAMS), n, p=weights)
    target = np.where(rng.random(n) < 0.4, np.array(TEAMS)[aim], "")
    target = np.where(target == np.array(TEAMS)[team], "", target)
    # threads of about four: a message replies to the one before it in its thread
    thread = idx // 4
    first = idx % 4 == 0
    ids = np.array([f"msg-{i:024x}" for i in idx])
    prev = np.array([f"msg-{i - 1:024x}" for i in idx])
    reply_to = np.where(first | (rng.random(n) < 0.3), "", prev)
    quarter = (idx * 8) // total
    # friction grows over time and in a few team pairs, so some changes are significant
    hot = np.isin(team * 100 + np.where(target == "", -1, aim), [a * 100 + t for a, t in HOT_PAIRS])
    base = 0.0012 * (1 + quarter / 4)[:, None] * np.where(hot, 8.0, 1.0)[:, None]
    flags = rng.random((n, len(LABELS))) < base * (1 + np.arange(len(LABELS)) / 3)[None, :]
    scores = np.where(flags, 0.5 + 0.5 * rng.random(flags.shape), 0.45 * rng.random(flags.shape)).astype("float32")
    bag_len = rng.integers(6, 20, n)
    zipf = np.minimum(rng.zipf(1.3, bag_len.sum()) - 1, len(words) - 1)
    cuts = np.cumsum(bag_len)[:-1]
    bags = [" ".join(b) for b in np.split(words[zipf], cuts)]
    labels, evidence, context = [""] * n, [""] * n, [""] * n
    for j in np.flatnonzero(flags.any(axis=1)):
        hit = [lab for lab, f in zip(LABELS, flags[j]) if f]
        labels[j] = ";".join(hit)
        evidence[j] = json.dumps({lab: [f"Synthetic evidence sentence {idx[j]} for {lab}."] for lab in hit})
        context[j] = json.dumps({lab: [["The sentence before it.", "The sentence after it."]] for lab in hit})
        bags[j] += " " + " ".join(f"{lab.split('_')[0]}marker" for lab in hit) + " missed deadline again"
    df = pd.DataFrame({
        "id": ids, "timestamp": ts,
        "channel": np.where(private, "leads-private", np.array(["email", "chat", "meeting", "teams"])[rng.integers(0, 4, n)]),
        "source": "bench", "author": authors[who], "author_team": np.array(TEAMS)[team], "target_team": target,
        "recipient_teams": target, "thread_id": [f"thread-{t:020x}" for t in thread], "reply_to": reply_to,
        "is_request": rng.random(n) < 0.15, "labels": labels, "evidence": evidence, "tokens": bags,
        "stage": "classifier", "context": context})
    for j, lab in enumerate(LABELS):
        df[f"score_{lab}"] = scores[:, j]
        df[f"flag_{lab}"] = flags[:, j]
    return df


def build_store(db: Path, total: int, seed: int = 0, chunk: int = 100_000) -> None:
    """A store of `total` synthetic messages, written through Store.upsert a chunk at a time."""
    from friction.store import Store

    rng = np.random.default_rng(seed)
    words = vocabulary(rng)
    authors = np.array([f"person-{i:08x}" for i in range(sum(TEAM_SIZES))])
    author_team = np.repeat(np.arange(len(TEAMS)), TEAM_SIZES)
    with Store(db) as store:
        scan = store.begin_scan(["bench"], "bench-model", "", "quarter", 10, False, False)
        for start in range(0, total, chunk):
            df = synthetic_chunk(start, min(chunk, total - start), total, rng, words, authors, author_team)
            store.upsert(df.assign(model_id="bench-model", scan_id=scan), list(LABELS))
        store.finish_scan(scan, {"read": total, "kept": total}, total)


def child(db: str, out: str, code: str) -> None:
    """Build the report once, in this fresh process, and print what it cost."""
    sys.path.insert(0, code)
    t0 = time.perf_counter()
    from friction.report import build_report
    from friction.store import Store

    t1 = time.perf_counter()
    with Store(db) as store:
        build_report(store, out, min_group=10)
    t2 = time.perf_counter()
    hwm = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    import friction

    print(json.dumps({"import_s": round(t1 - t0, 2), "report_s": round(t2 - t1, 2), "vmhwm_mb": round(hwm / 1024),
                      "friction": friction.__file__}))


def run_child(args: list[str]) -> tuple[str, float]:
    """Run this script in a fresh process; its stdout and its own peak RSS (MB, from wait4: the
    figure for that child alone, not for every child this process had)."""
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": ""})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{args}: exit {proc.returncode}")
    return out, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--db", default=None, help="store to reuse (built if absent)")
    ap.add_argument("--out", default=None, help="report folder (a temporary one by default)")
    ap.add_argument("--code", default=str(ROOT), help="checkout whose friction package builds the report")
    ap.add_argument("--child", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--build", metavar="DB", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child, args.code)
    if args.build:
        sys.path.insert(0, str(ROOT))
        return build_store(Path(args.build), args.n)
    work = Path(tempfile.mkdtemp(prefix="friction-bench-report-"))
    db = Path(args.db) if args.db else work / "bench.duckdb"
    if not db.exists():  # in a child too: a forked child starts with its parent's memory
        t0 = time.perf_counter()
        run_child([str(args.n), "--build", str(db)])
        print(f"built {db} ({args.n:,} messages, {db.stat().st_size / 2**20:.0f} MB) "
              f"in {time.perf_counter() - t0:.0f} s")
    out = args.out or str(work / "report")
    t0 = time.perf_counter()
    stdout, peak = run_child([str(args.n), "--code", args.code, "--child", str(db), out])
    wall = time.perf_counter() - t0
    info = json.loads(stdout.strip().splitlines()[-1])
    print(f"{args.n:,} messages: report child peak RSS {peak:.0f} MB (VmHWM {info['vmhwm_mb']} MB), "
          f"wall {wall:.1f} s (imports {info['import_s']} s, build_report {info['report_s']} s); "
          f"code {Path(info['friction']).parents[1]}; report {out}")


if __name__ == "__main__":
    main()
