"""`friction evaluate`: our model and every baseline, scored on the same messages."""

from __future__ import annotations

import time
from pathlib import Path

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
    return {name: per_test["test"] for name, per_test in
            score_baselines_on(model, train, dev, {"test": test}, which).items()}


BASELINE_NAMES = {"keywords": "keyword rules", "tfidf": "TF-IDF + LR", "frozen": "frozen MiniLM + LR",
                  "zeroshot": "zero-shot similarity"}


def score_baselines_on(model: FrictionClassifier, train: pd.DataFrame, dev: pd.DataFrame | None,
                       tests: dict[str, pd.DataFrame],
                       which: tuple[str, ...] = ("keywords", "tfidf", "frozen", "zeroshot")) -> dict:
    """Train each baseline once on `train` (thresholds on `dev`) and score it on every test set:
    {baseline name: {test name: figures}}."""
    ids = model.label_ids
    ytr = label_matrix(train["label_list"], ids)
    ydev = (dev["text"].tolist(), label_matrix(dev["label_list"], ids)) if dev is not None and len(dev) else None
    makers = {
        "keywords": lambda: KeywordBaseline(model.labels),
        "tfidf": TfidfBaseline,
        "frozen": lambda: FrozenEmbeddingBaseline(),
        "zeroshot": lambda: ZeroShotBaseline(model.labels),
    }
    out = {}
    for key in which:
        base = makers[key]().fit(train["text"].tolist(), ytr, dev=ydev)
        out[BASELINE_NAMES[key]] = {}
        for name, test in tests.items():
            pred = base.predict(test["text"].tolist())
            proba = base.predict_proba(test["text"].tolist()) if key in ("tfidf", "frozen") else None
            out[BASELINE_NAMES[key]][name] = evaluate(label_matrix(test["label_list"], ids), pred, ids, proba=proba,
                                                      hard_negative=test["hard_negative"].to_numpy())
    return out


def evaluate_both_worlds(model: FrictionClassifier, written: str | Path, real: str | Path,
                         baselines: bool = True) -> dict:
    """The model and the baselines, trained on the same data as the shipped recipe (written train +
    real train; thresholds on both dev splits), scored on the written test split, the real test
    split (communities never seen) and its random stratum (the natural base rate of real traffic).
    {system: {test name: figures}}."""
    from ..corpus import load_corpus

    w, r = load_corpus(written), load_corpus(real)
    tests = {"written test": w[w.split == "test"], "real test": r[r.split == "test"]}
    tests["real test, random stratum"] = tests["real test"][tests["real test"]["stratum"] == "random"]
    out = {f"friction ({model.model_id})": {name: score_model(model, t) for name, t in tests.items()}}
    if baselines:
        train = pd.concat([w[w.split == "train"], r[r.split == "train"]], ignore_index=True)
        dev = pd.concat([w[w.split == "dev"], r[r.split == "dev"]], ignore_index=True)
        out.update(score_baselines_on(model, train, dev, tests))
    return out
