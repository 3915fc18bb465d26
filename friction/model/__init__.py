"""The friction model: load the shipped default (or any saved folder) and label message tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..corpus import previous_in_thread
from ..settings import current_settings
from ..shipped import shipped_model_dir
from .classifier import FrictionClassifier


def default_model_path() -> Path:
    """$FRICTION_MODEL, else the shipped models/default (in a checkout or installed)."""
    return Path(current_settings().model or shipped_model_dir())


def load_model(path: str | Path | None = None) -> FrictionClassifier:
    """A saved model folder (the shipped default without a path), with its cascade screen when
    the folder has one."""
    from .screen import FrictionScreen

    path = _model_folder(path)
    model = FrictionClassifier.load(path)
    model.screen_ = FrictionScreen.load(path / "screen")
    return model


def model_identity(path: str | Path | None = None) -> tuple[str, list[str]]:
    """(model_id, label ids) of a model folder, read from its config.json without loading any
    weights: the scan's driver process needs only these when workers do the classifying."""
    path = _model_folder(path)
    cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return FrictionClassifier.id_from(cfg, path), [lab["id"] for lab in cfg["labels"]]


def _model_folder(path: str | Path | None) -> Path:
    """The model folder to use (the default without a path), or a clear error when it has none."""
    path = Path(path) if path else default_model_path()
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path}: no friction model here (expected config.json; "
                                "train one with `friction train` or pass --model)")
    return path


def label_messages(model: FrictionClassifier, df: pd.DataFrame, with_evidence: bool = True,
                   contexts: list[str] | None = None, cascade: bool = True, timings=None) -> pd.DataFrame:
    """A classify stage: the message chunk plus score_<label>, flag_<label>, labels, evidence,
    and `stage` (which stage decided: 'screen' when the cheap first stage ruled friction out,
    'model' when the transformer read the message).

    A plain function of a DataFrame chunk, so a process pool or Dask map_partitions can call it.
    `timings` (a Counter) collects seconds per step when given.
    """
    clock = _Clock(timings)
    texts = df["text"].fillna("").astype(str).tolist()
    if model.use_context and contexts is None and "thread_id" in df.columns:
        contexts = previous_in_thread(df)
    screen = getattr(model, "screen_", None) if cascade else None
    proba = np.zeros((len(texts), len(model.label_ids)), dtype=np.float32)
    tokens = None  # per message: token contributions from the transformer's pass, for evidence
    with clock("classify: screen"):
        read = screen.passes(texts) if screen is not None else np.ones(len(texts), dtype=bool)
    if read.any():
        idx = np.flatnonzero(read)
        kept: list | None = [] if with_evidence else None
        with clock("classify: transformer"):
            proba[idx] = model.predict_proba([texts[i] for i in idx], tokens=kept,
                                             contexts=[contexts[i] for i in idx] if contexts is not None else None)
        if kept:  # empty when the model cannot give them (context or sentence pooling)
            tokens = [None] * len(texts)
            for i, t in zip(idx, kept):
                tokens[i] = t
        if timings is not None:
            timings["_model_messages"] += len(idx)
    flags = (proba >= model.thresholds_) & read[:, None]
    out = df.copy()
    for j, lid in enumerate(model.label_ids):
        out[f"score_{lid}"] = proba[:, j].astype(np.float32)
        out[f"flag_{lid}"] = flags[:, j]
    out["labels"] = [";".join(lid for lid, f in zip(model.label_ids, row) if f) for row in flags]
    if with_evidence:
        with clock("classify: evidence"):
            ev = model.evidence(texts, flags, tokens=tokens)  # only messages read are flagged
        out["evidence"] = [json.dumps(e, ensure_ascii=False) if e else "" for e in ev]
    else:
        out["evidence"] = ""
    out["stage"] = np.where(read, "model", "screen")
    out["model_id"] = model.model_id
    return out


class _Clock:
    """`with clock("step"):` adds the step's wall time to a Counter (or does nothing without one)."""

    def __init__(self, timings=None):
        self.timings = timings

    def __call__(self, step: str):
        import contextlib
        import time

        if self.timings is None:
            return contextlib.nullcontext()

        @contextlib.contextmanager
        def timed():
            t0 = time.perf_counter()
            try:
                yield
            finally:
                self.timings[step] += time.perf_counter() - t0

        return timed()
