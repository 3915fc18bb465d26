"""The friction model: load the shipped default (or any saved folder) as its pipeline, and label
message tables with it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..settings import current_settings
from ..shipped import shipped_model_dir
from ..timings import Timings
from .classifier import FrictionClassifier
from .pipeline import FrictionPipeline


def default_model_path() -> Path:
    """$FRICTION_MODEL, else the shipped models/default (in a checkout or installed)."""
    return Path(current_settings().model or shipped_model_dir())


def load_model(path: str | Path | None = None, precision: str | None = None, exact: bool = False) -> FrictionPipeline:
    """The pipeline a saved model folder describes (the shipped default without a path):
    screen -> classifier -> evidence, as its config.json names them. `exact`: the folder's own
    weights, never the int8 runtime its settings may choose (to train from it or save it)."""
    return FrictionPipeline.from_disk(_model_folder(path), precision=precision, exact=exact)


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


def label_messages(model: "FrictionPipeline | FrictionClassifier", df: pd.DataFrame, with_evidence: bool = True,
                   contexts: list[str] | None = None, cascade: bool = True, timings: Timings | None = None) -> pd.DataFrame:
    """The classify stage on a message chunk: `model`'s pipeline (without its screen when
    `cascade` is False; a bare classifier is wrapped in a pipeline without a screen). See
    `FrictionPipeline.__call__` for the columns added."""
    pipe = model if isinstance(model, FrictionPipeline) else FrictionPipeline.of(model)
    if not cascade:
        pipe = pipe.without("screen")
    return pipe(df, with_evidence=with_evidence, contexts=contexts, timings=timings)
