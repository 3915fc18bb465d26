"""Active learning: which unlabelled messages would teach the model most."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .classifier import FrictionClassifier


def uncertainty(proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """1 at a label's threshold, 0 at a confident 0 or 1; the most uncertain label counts."""
    span = np.where(proba >= thresholds, 1 - thresholds, thresholds)
    return (1 - np.abs(proba - thresholds) / np.maximum(span, 1e-6)).max(1)


def suggest_for_labelling(model: FrictionClassifier, df: pd.DataFrame, n: int, pool_factor: int = 5,
                          seed: int = 0) -> pd.DataFrame:
    """The n most useful messages: the `pool_factor * n` most uncertain, then spread out by
    k-means on their embeddings (one pick per cluster, the most uncertain in it)."""
    from sklearn.cluster import KMeans

    df = df.drop_duplicates("text").reset_index(drop=True)
    texts = df["text"].tolist()
    proba = model.predict_proba(texts)
    unc = uncertainty(proba, model.thresholds_)
    pool = np.argsort(-unc)[: max(n, pool_factor * n)]
    if len(pool) > n:
        emb = model.encoder_.encode([texts[i] for i in pool], max_length=model.max_length, normalize=True)
        km = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(emb)
        chosen = []
        for c in range(n):
            members = pool[km.labels_ == c]
            if len(members):
                chosen.append(members[np.argmax(unc[members])])
        pool = np.array(chosen)
    pool = pool[np.argsort(-unc[pool])]
    out = pd.DataFrame({
        "id": df["id"].iloc[pool].to_numpy(),
        "text": df["text"].iloc[pool].to_numpy(),
        "labels": "",
        "suggested_labels": [";".join(lid for lid, p, t in zip(model.label_ids, proba[i], model.thresholds_) if p >= t)
                             for i in pool],
        "uncertainty": np.round(unc[pool], 3),
    })
    for col in ("timestamp", "channel", "author_team", "thread_id"):
        if col in df.columns:
            out[col] = df[col].iloc[pool].astype(str).to_numpy()
    return out
