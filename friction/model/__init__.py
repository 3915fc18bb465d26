"""The friction model: load the shipped default (or any saved folder) and label message tables."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .classifier import FrictionClassifier

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "default"


def default_model_path() -> Path:
    """$FRICTION_MODEL, else the repository's models/default."""
    return Path(os.environ.get("FRICTION_MODEL") or DEFAULT_MODEL)


def load_model(path: str | Path | None = None) -> FrictionClassifier:
    path = Path(path) if path else default_model_path()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: no friction model here (expected config.json; "
                                "train one with `friction train` or pass --model)")
    return FrictionClassifier.load(path)


def label_messages(model: FrictionClassifier, df: pd.DataFrame, with_evidence: bool = True,
                   contexts: list[str] | None = None) -> pd.DataFrame:
    """A classify stage: the message chunk plus score_<label>, flag_<label>, labels, evidence.

    A plain function of a DataFrame chunk, so a process pool or Dask map_partitions can call it.
    """
    texts = df["text"].fillna("").astype(str).tolist()
    proba = model.predict_proba(texts, contexts=contexts)
    flags = proba >= model.thresholds_
    out = df.copy()
    for j, lid in enumerate(model.label_ids):
        out[f"score_{lid}"] = proba[:, j].astype(np.float32)
        out[f"flag_{lid}"] = flags[:, j]
    out["labels"] = [";".join(lid for lid, f in zip(model.label_ids, row) if f) for row in flags]
    if with_evidence:
        ev = model.evidence(texts, flags)
        out["evidence"] = [json.dumps(e, ensure_ascii=False) if e else "" for e in ev]
    else:
        out["evidence"] = ""
    out["model_id"] = model.model_id
    return out
