"""Benchmark input on real traffic, shared by bench_scan.py and bench_classify.py.

The neutral bulk is the real-text training pool (../shared/external_train: mail, chat, meeting
turns; read at run time, never copied into the repository), minus messages annotators labelled as
friction; friction messages (10% by default) are drawn from the test splits of the written corpus
and of the real labelled corpus. The naive pipeline (sentence-transformers MiniLM encode + one
logistic regression per label on every message) is what a user would otherwise run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def real_traffic(n: int, friction_share: float = 0.10, seed: int = 0) -> pd.DataFrame:
    """n messages (id, text, source, is_friction) in a random order."""
    from friction.corpus import load_corpus
    from friction.realtext import load_real_corpus, pointer, read_pool

    pool = read_pool()
    real = load_real_corpus(pool=pool)
    written = load_corpus(ROOT / "corpora" / "train")
    flagged = set(real.loc[real["label_list"].map(len) > 0, "pointer"])
    bulk = pool.loc[~pool["key"].map(pointer).isin(flagged), ["text", "source"]]
    friction = pd.concat([
        written.loc[(written["split"] == "test") & (written["label_list"].map(len) > 0), ["text"]].assign(source="written"),
        real.loc[(real["split"] == "test") & (real["label_list"].map(len) > 0), ["text", "source"]]])
    rng = np.random.default_rng(seed)
    k = int(round(n * friction_share))
    df = pd.concat([bulk.iloc[rng.integers(0, len(bulk), n - k)].assign(is_friction=False),
                    friction.iloc[rng.integers(0, len(friction), k)].assign(is_friction=True)], ignore_index=True)
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df.insert(0, "id", [f"bench-{i}" for i in range(len(df))])
    return df


class Naive:
    """sentence-transformers encode + logistic regression (7 heads), trained on a slice of the
    written train split (the heads' cost at inference is negligible beside the encoder's)."""

    def __init__(self, n_train: int = 600):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise SystemExit('the naive pipeline needs sentence-transformers: pip install -e ".[train]"') from None
        from sklearn.linear_model import LogisticRegression

        from friction.corpus import label_matrix, load_corpus
        from friction.labels import DEFAULT_LABEL_IDS
        from friction.model.encoder import minilm_dir

        self.st = SentenceTransformer(str(minilm_dir()), device="cpu")
        tr = load_corpus(ROOT / "corpora" / "train").query("split == 'train'").sample(n_train, random_state=0)
        y = label_matrix(tr["label_list"], DEFAULT_LABEL_IDS)
        emb = self.st.encode(tr["text"].tolist(), batch_size=64)
        self.heads = [LogisticRegression(max_iter=2000).fit(emb, y[:, j]) for j in range(y.shape[1])]

    def rate(self, texts: list[str]) -> float:
        """messages/s on `texts`, after a warm-up."""
        self.st.encode(texts[:64], batch_size=64)
        t0 = time.perf_counter()
        e = self.st.encode(texts, batch_size=64)
        np.column_stack([h.predict_proba(e)[:, 1] for h in self.heads])
        return len(texts) / (time.perf_counter() - t0)


def cpu_flags() -> str:
    """The CPU's model name and whether it has native bf16 (AMX / AVX512-BF16) and AVX2."""
    try:
        info = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return "unknown CPU"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in info]
    return f"{name} [{', '.join(flags)}]"
