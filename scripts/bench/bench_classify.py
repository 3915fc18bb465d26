"""Benchmark classification: friction's classifier next to a plain sentence-transformers
encode + logistic regression baseline, measured in the same run on the same messages.

    python scripts/bench/bench_classify.py [--n 2000] [--model models/default]

Messages are drawn from the corpus (all splits) and repeated to reach N. Prints messages/s of
each and the ratio; timings are wall-clock on this machine, so compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()

    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise SystemExit('the naive pipeline needs sentence-transformers: pip install -e ".[train]"') from None
    from sklearn.linear_model import LogisticRegression

    from friction.corpus import label_matrix, load_corpus
    from friction.model import label_messages, load_model
    from friction.model.encoder import minilm_dir

    df = load_corpus()
    texts = (df["text"].tolist() * (args.n // len(df) + 1))[: args.n]
    rng = np.random.default_rng(0)
    texts = [texts[i] for i in rng.permutation(len(texts))]

    model = load_model(args.model)
    st = SentenceTransformer(str(minilm_dir()), device="cpu")
    train = df[df["split"] == "train"]
    y = label_matrix(train["label_list"], model.label_ids)
    emb = st.encode(train["text"].tolist(), batch_size=64)
    heads = [LogisticRegression(max_iter=2000, class_weight="balanced").fit(emb, y[:, j]) for j in range(y.shape[1])]

    model.predict_proba(texts[:64])  # warm both up
    st.encode(texts[:64])
    rows = []
    t0 = time.perf_counter()
    e = st.encode(texts, batch_size=64)
    _ = np.column_stack([h.predict_proba(e)[:, 1] for h in heads])
    rows.append(("sentence-transformers encode + LR (baseline)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    model.predict_proba(texts)
    rows.append(("friction predict_proba", time.perf_counter() - t0))
    import pandas as pd

    frame = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts})
    t0 = time.perf_counter()
    label_messages(model, frame, with_evidence=True)
    rows.append(("friction classify stage (scores + evidence)", time.perf_counter() - t0))
    base = len(texts) / rows[0][1]
    print(f"{len(texts)} messages, mean {np.mean([len(t) for t in texts]):.0f} characters")
    print(f"{'':<46} {'msg/s':>8} {'vs baseline':>12}")
    for name, secs in rows:
        rate = len(texts) / secs
        print(f"{name:<46} {rate:>8.1f} {rate / base:>11.2f}x")


if __name__ == "__main__":
    main()
