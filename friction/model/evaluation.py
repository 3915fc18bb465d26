"""`friction evaluate`: our model and every baseline, scored on the same messages."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..corpus import label_matrix
from .baselines import FrozenEmbeddingBaseline, KeywordBaseline, TfidfBaseline, ZeroShotBaseline
from .classifier import FrictionClassifier
from .metrics import evaluate


def score_model(model: FrictionClassifier, test: pd.DataFrame, contexts: list[str] | None = None) -> dict:
    y = label_matrix(test["label_list"], model.label_ids)
    t0 = time.perf_counter()
    proba = model.predict_proba(test["text"].tolist(), contexts=contexts)
    secs = time.perf_counter() - t0
    pred = (proba >= model.thresholds_).astype(np.int8)
    res = evaluate(y, pred, model.label_ids, proba=proba, hard_negative=test["hard_negative"].to_numpy())
    res["messages_per_s"] = round(len(test) / max(secs, 1e-9), 1)
    return res


def score_baselines(model: FrictionClassifier, train: pd.DataFrame, dev: pd.DataFrame | None,
                    test: pd.DataFrame, which: tuple[str, ...] = ("keywords", "tfidf", "frozen", "zeroshot")) -> dict:
    """Train each baseline on `train` (thresholds on `dev`) and score it on `test`."""
    ids = model.label_ids
    ytr = label_matrix(train["label_list"], ids)
    ydev = (dev["text"].tolist(), label_matrix(dev["label_list"], ids)) if dev is not None and len(dev) else None
    yte = label_matrix(test["label_list"], ids)
    makers = {
        "keywords": lambda: KeywordBaseline(model.labels),
        "tfidf": TfidfBaseline,
        "frozen": lambda: FrozenEmbeddingBaseline(),
        "zeroshot": lambda: ZeroShotBaseline(model.labels),
    }
    names = {"keywords": "keyword rules", "tfidf": "TF-IDF + LR", "frozen": "frozen MiniLM + LR",
             "zeroshot": "zero-shot similarity"}
    out = {}
    for key in which:
        base = makers[key]().fit(train["text"].tolist(), ytr, dev=ydev)
        pred = base.predict(test["text"].tolist())
        proba = base.predict_proba(test["text"].tolist()) if key in ("tfidf", "frozen") else None
        out[names[key]] = evaluate(yte, pred, ids, proba=proba, hard_negative=test["hard_negative"].to_numpy())
    return out
