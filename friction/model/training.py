"""Training recipes on top of FrictionClassifier: split-aware training, with the final model
optionally refit on train+dev while keeping the calibration learned on dev."""

from __future__ import annotations

import copy
from typing import Sequence

import pandas as pd

from ..corpus import label_matrix, previous_in_thread
from ..labels import Label
from .classifier import FrictionClassifier


def train_on_splits(df: pd.DataFrame, labels: Sequence[Label], refit_on_dev: bool = False,
                    progress: bool = True, **settings) -> tuple[FrictionClassifier, dict]:
    """Train on split=='train' (or every row when there are no splits), calibrate on split=='dev'.

    With refit_on_dev, a second model with the same settings is trained on train+dev and
    inherits the first one's calibration and thresholds (dev figures are then reported from the
    first model, the only one that has not seen dev).
    """
    from .evaluation import score_model

    ids = [lab.id for lab in labels]
    has_splits = "split" in df.columns and (df["split"] == "train").any()
    train = df[df["split"] == "train"] if has_splits else df
    dev = df[df["split"] == "dev"] if has_splits else df.iloc[0:0]
    use_context = settings.get("use_context", False)
    ctx = pd.Series(previous_in_thread(df), index=df.index) if use_context else None
    ctx_of = (lambda part: ctx.loc[part.index].tolist()) if ctx is not None else (lambda part: None)
    model = FrictionClassifier(labels=labels, **settings)
    model.fit(train["text"].tolist(), label_matrix(train["label_list"], ids),
              dev=(dev["text"].tolist(), label_matrix(dev["label_list"], ids)) if len(dev) else None,
              contexts=ctx_of(train), dev_contexts=ctx_of(dev) if len(dev) else None, progress=progress)
    report = {"dev": score_model(model, dev, contexts=ctx_of(dev)) if len(dev) else None, "n_train": len(train), "n_dev": len(dev)}
    if refit_on_dev and len(dev):
        both = pd.concat([train, dev])
        final = FrictionClassifier(labels=labels, **settings)
        final.fit(both["text"].tolist(), label_matrix(both["label_list"], ids), contexts=ctx_of(both),
                  holdout=0, progress=progress)
        final.calib_ = copy.deepcopy(model.calib_)
        final.thresholds_ = copy.deepcopy(model.thresholds_)
        final.n_calibration_ = model.n_calibration_
        report["refit_on"] = len(both)
        model = final
    return model, report


def with_neutral_context(df: pd.DataFrame, neutral: Sequence[str], frac: float = 0.5, seed: int = 0) -> pd.DataFrame:
    """Copies of a share of the friction messages with a neutral sentence before or after them,
    labels unchanged. Mean pooling let a greeting before a complaint drop its score from 1.00 to
    0.04 (model card); these copies teach that neutral context does not cancel friction."""
    import random

    rng = random.Random(seed)
    pos = df[df["label_list"].map(len) > 0]
    pos = pos.sample(frac=frac, random_state=seed) if len(pos) else pos
    texts = []
    for t in pos["text"]:
        extra = rng.choice(list(neutral))
        texts.append(f"{extra} {t}" if rng.random() < 0.5 else f"{t} {extra}")
    out = pos.copy()
    out["text"] = texts
    out["augmented"] = True
    return out


def first_sentences(texts: Sequence[str], max_words: int = 14) -> list[str]:
    """Short opening sentences of neutral messages, the kind that surround a real complaint."""
    import re

    out = []
    for t in texts:
        s = re.split(r"(?<=[.!?])\s+", str(t).strip(), maxsplit=1)[0].strip()
        if 2 <= len(s.split()) <= max_words:
            out.append(s)
    return out
