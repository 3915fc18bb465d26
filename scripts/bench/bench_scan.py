"""Benchmark a whole scan: N messages (corpus texts mixed with the demo company's neutral
messages, about 90% neutral), per-stage throughput, peak RSS, and the ratio against the naive
pipeline (sentence-transformers encode + logistic regression on every message) in the same run.

    python scripts/bench/bench_scan.py 1000000 --workers 2 [--no-cascade] [--naive-sample 3000]

The input is written as a Parquet message table (ids unique, timestamps over four quarters,
authors from the demo roster), then `friction scan` runs on it into a fresh store.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]


def build_input(n: int, path: Path, seed: int = 0) -> pd.DataFrame:
    """Write the benchmark's message table; returns its first block (for the naive sample)."""
    from friction.corpus import load_corpus

    rng = np.random.default_rng(seed)
    corpus = load_corpus(ROOT / "corpora" / "train")
    friction = corpus[corpus["label_list"].str.len() > 0]["text"].tolist()
    neutral = corpus[corpus["label_list"].str.len() == 0]["text"].tolist()
    for f in (ROOT / "corpora" / "demo" / "source").glob("*.jsonl"):
        if f.name == "planted.jsonl":
            continue
        for line in f.open():
            r = json.loads(line)
            if "text" in r:
                neutral.append(r["text"])
            for t in r.get("turns", []) + [{"text": i} for i in r.get("items", [])]:
                neutral.append(t["text"])
    roster = pd.read_csv(ROOT / "corpora" / "demo" / "roster.csv")["email"].to_numpy()
    friction, neutral = np.array(friction, dtype=object), np.array(neutral, dtype=object)
    start = pd.Timestamp("2025-01-01", tz="UTC").value
    span = pd.Timedelta(days=364).value
    block = 100_000  # written block by block, so building a million messages stays small in memory
    first = None
    with pq.ParquetWriter(path, _schema()) as writer:
        for lo in range(0, n, block):
            m = min(block, n - lo)
            t0, t1 = start + span * lo // n, start + span * (lo + m) // n
            is_friction = rng.random(m) < 0.10
            df = pd.DataFrame({
                "id": [f"bench-{i}" for i in range(lo, lo + m)],
                "timestamp": pd.to_datetime(np.sort(rng.integers(t0, max(t1, t0 + 1), m)), utc=True),
                "author": rng.choice(roster, m),
                "recipients": rng.choice(roster, m),
                "channel": rng.choice(np.array(["email", "chat", "meeting"]), m, p=[0.35, 0.5, 0.15]),
                "text": np.where(is_friction, rng.choice(friction, m), rng.choice(neutral, m)),
            })
            writer.write_table(pa.Table.from_pandas(df, schema=_schema(), preserve_index=False))
            first = df if first is None else first
    return first


def _schema():
    return pa.schema([("id", pa.string()), ("timestamp", pa.timestamp("ns", tz="UTC")), ("author", pa.string()),
                      ("recipients", pa.string()), ("channel", pa.string()), ("text", pa.string())])


def naive_rate(texts: list[str]) -> float:
    """messages/s of sentence-transformers encode + logistic regression (7 heads)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise SystemExit('the naive pipeline needs sentence-transformers: pip install -e ".[train]"') from None
    from sklearn.linear_model import LogisticRegression

    from friction.corpus import label_matrix, load_corpus
    from friction.labels import DEFAULT_LABEL_IDS
    from friction.model.encoder import minilm_dir

    st = SentenceTransformer(str(minilm_dir()), device="cpu")
    corpus = load_corpus(ROOT / "corpora" / "train")
    tr = corpus[corpus["split"] == "train"]
    y = label_matrix(tr["label_list"], DEFAULT_LABEL_IDS)
    heads = [LogisticRegression(max_iter=2000).fit(st.encode(tr["text"].tolist(), batch_size=64), y[:, j])
             for j in range(y.shape[1])]
    t0 = time.perf_counter()
    e = st.encode(texts, batch_size=64)
    np.column_stack([h.predict_proba(e)[:, 1] for h in heads])
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-cascade", action="store_true")
    ap.add_argument("--naive-sample", type=int, default=3000)
    ap.add_argument("--keep", default=None, help="keep the store and report in this folder")
    args = ap.parse_args()

    import friction.scan as scan_mod  # the module (`from friction import scan` may give the function)
    from friction.scan import ScanOptions, run_scan

    work = Path(args.keep or tempfile.mkdtemp(prefix="friction-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    df = build_input(args.n, work / "input.parquet")
    build_s = time.perf_counter() - t0
    sample = df["text"].sample(min(args.naive_sample, len(df)), random_state=1).tolist()
    del df
    timings: Counter = Counter()
    scan_mod.TIMINGS = timings
    t0 = time.perf_counter()
    result = run_scan(ScanOptions(inputs=[str(work / "input.parquet")], db=str(work / "bench.duckdb"),
                                  out=str(work / "report"), roster=str(ROOT / "corpora" / "demo" / "roster.csv"),
                                  workers=args.workers, cascade=not args.no_cascade, progress=False))
    total = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    naive = naive_rate(sample)
    n = result["ingest"]["kept"]
    print(f"messages: {n:,} (input built in {build_s:.0f}s; not counted)")
    if args.workers > 1:
        print(f"stage seconds are summed over {args.workers} workers: msg/s per stage is per worker")
    print(f"{'stage':<34} {'seconds':>8} {'msg/s':>10}")
    for stage, secs in sorted(((k, v) for k, v in timings.items() if not k.startswith("_")), key=lambda kv: -kv[1]):
        print(f"{stage:<34} {secs:>8.1f} {n / max(secs, 1e-9):>10.0f}")
    print(f"{'end to end':<34} {total:>8.1f} {n / total:>10.0f}")
    print(f"naive pipeline (ST encode + LR), {len(sample)} msgs: {naive:.0f} msg/s "
          f"-> ratio {n / total / naive:.1f}x end to end")
    print(f"peak RSS: {rss:.0f} MB (driver){f', {rss_workers:.0f} MB (largest worker)' if args.workers > 1 else ''}; passed to the transformer: {timings.get('_model_messages', 0):.0f} "
          f"of {n} ({timings.get('_model_messages', 0) / max(n, 1):.1%})")
    print(f"report: {result['report']['html']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
