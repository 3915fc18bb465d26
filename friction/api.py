"""The library API: what every `friction` command does, as functions (the CLI only parses options,
calls one of these and prints). Each is documented with an example in docs/api.md.

Errors a user can fix (a missing file, an unknown label, no training rows) are raised as
ValueError / OSError with one line that names the problem.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from .ingest import IngestSummary, Limits, Roster
from .settings import current_settings

Log = Callable[[str], None]
PathLike = str | os.PathLike


def load_model(path: PathLike | None = None, precision: str | None = None):
    """A trained model folder as its `FrictionPipeline` (screen -> classifier -> evidence, as its
    config.json names them). Without a path: $FRICTION_MODEL, else the shipped default model.

        >>> model = friction.load_model()
        >>> model.predict_proba(["Marketing promised a date we never agreed to."])
    """
    from . import model as friction_model  # torch loads only when a model is wanted

    return friction_model.load_model(path, precision=precision)


def path_list(paths: PathLike | Iterable[PathLike]) -> list[str]:
    """Paths as strings; one path is a list of one, not an iterable of its characters."""
    return [str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths]


def read_messages(paths: PathLike | Iterable[PathLike], *, fmt: str | None = None, roster: PathLike | Roster | None = None,
                  mapping: dict | None = None, max_chars: int = Limits.max_chars,
                  summary: IngestSummary | None = None) -> Iterator[pd.DataFrame]:
    """Stream the clean message table of exports (files, folders, zips) in DataFrame chunks.

    `fmt` forces one format (see `friction.ingest.FORMATS`); `roster` (a CSV path or a Roster)
    sets author_team; `mapping` maps a table's column names to ours ({"body": "text"}). Pass an
    IngestSummary to get the counts of what was read, kept and skipped.

        >>> for chunk in friction.read_messages(["exports/"], roster="roster.csv"):
        ...     print(len(chunk), chunk["author_team"].unique())
    """
    from .ingest import read_messages as read_chunks

    team_roster = Roster.load(str(roster)) if isinstance(roster, (str, os.PathLike)) else roster
    return read_chunks(path_list(paths), fmt=fmt, roster=team_roster, mapping=mapping, summary=summary,
                       limits=Limits(max_chars=max_chars))


def scan(paths: PathLike | Iterable[PathLike], **options) -> dict:
    """Ingest, classify, store and report: the main job. Returns what happened (counts, the
    report's paths). `options` are `friction.scan.ScanOptions` fields: db, out, roster, period,
    model, min_group, workers, engine, cascade, key_file, ...; key_file defaults to
    $FRICTION_KEY_FILE.

        >>> result = friction.scan(["corpora/demo/"], db="friction.duckdb", out="reports/")
        >>> result["report"]["html"]
        'reports/report.html'
    """
    import importlib.util

    from .scan import ScanOptions, run_scan

    if options.get("engine") == "dask" and importlib.util.find_spec("distributed") is None:
        raise ValueError("--engine dask needs Dask, an optional extra: pip install 'friction[dask]'")
    options["key_file"] = options.get("key_file") or current_settings().key_file
    return run_scan(ScanOptions(inputs=path_list(paths), **options))


def training_data(data: PathLike, labels_file: PathLike | None = None,
                  mix: PathLike | None = None) -> tuple[pd.DataFrame, list, dict]:
    """(rows, labels, renames) to train on: DATA read through the label set, plus `mix` (another
    labelled corpus, its test split left out) as extra training rows."""
    from .corpus import load_corpus
    from .labels import DEFAULT_LABELS, load_label_set

    labels, renames = load_label_set(str(labels_file)) if labels_file else (list(DEFAULT_LABELS), {})
    ids = [lab.id for lab in labels]
    df = load_corpus(str(data), label_ids=ids, renames=renames)
    if mix:
        extra = load_corpus(str(mix), label_ids=ids, renames=renames)
        if "split" in extra.columns:
            extra = extra[extra["split"] != "test"]
        extra["split"] = extra.get("split", "train").replace("", "train")
        if "split" not in df.columns:
            df["split"] = "train"
        df = pd.concat([df, extra], ignore_index=True)
    return df, labels, renames


def train(data: PathLike | None = None, output: PathLike | None = None, *, recipe: PathLike | None = None,
          smoke: bool = False, labels: PathLike | None = None, base: PathLike | None = None,
          mix: PathLike | None = None, method: str = "finetune", epochs: int = 6, max_length: int = 128,
          refit_on_dev: bool = False, context: bool = False, seed: int = 0, screen: bool = True,
          workers: int | None = None, log: Log | None = None) -> dict:
    """Train a model on labelled DATA and save it to `output`; returns the dev figures.

    Rows with split 'train' train, rows with split 'dev' calibrate scores and tune thresholds.
    `labels` is a label-set YAML (keep, rename, add labels), `base` a model to continue from,
    `mix` extra labelled data. With `recipe` (e.g. models/default/recipe.yaml) DATA and the
    other settings come from the recipe file instead, and the recipe is copied into `output`.
    `screen=False` saves the folder without its fast screen (every message goes to the model):
    for a soup ingredient trained alone, whose screen would be rebuilt for the soup anyway.
    `workers`: how many of a recipe's soup ingredients train at once (`fit_ingredients`).

        >>> friction.train("company_labels.csv", "models/acme", base="models/default")
        >>> friction.train(recipe="models/default/recipe.yaml", output="models/default")
    """
    log = log or (lambda line: None)
    if output is None:
        raise ValueError("give the new model folder (output)")
    if recipe:
        return train_from_recipe(recipe, output, smoke=smoke, screen=screen, workers=workers, log=log)
    if data is None:
        raise ValueError("give labelled DATA, or a recipe file")
    from .corpus import data_hash
    from .model.pipeline import FrictionPipeline
    from .model.training import train_on_splits

    df, label_set, renames = training_data(data, labels, mix)
    positives = {lab.id: int(sum(lab.id in labs for labs in df["label_list"])) for lab in label_set}
    log(f"training on {len(df)} messages; positives per label: {positives}")
    model, report = train_on_splits(df, label_set, refit_on_dev=refit_on_dev, method=method, epochs=epochs,
                                    max_length=max_length, seed=seed, base=base,
                                    head_from={new: old for old, new in renames.items()}, use_context=context)
    pipe = with_screen(model, df, log) if screen else FrictionPipeline.of(model)
    pipe.to_disk(output, metrics={"dev": report["dev"]},
                 extra={"model_id": model_name(output), "training_data": {
                   "source": str(data), "mix": str(mix) if mix else None, "sha256": data_hash(df), "n": len(df),
                   "positives": positives, "n_train": report["n_train"], "n_dev": report["n_dev"],
                   "refit_on": report.get("refit_on")}})
    if report["dev"]:
        log(f"dev macro-F1 {report['dev']['macro_f1']:.3f}, false alarms on none {report['dev']['fpr_none']:.3f}")
    return {"output": str(output), "dev": report["dev"], "n_train": report["n_train"], "n_dev": report["n_dev"]}


def train_from_recipe(recipe: PathLike, output: PathLike, smoke: bool = False, screen: bool = True,
                      workers: int | None = None, log: Log | None = None) -> dict:
    """Train what a recipe file says (`friction.model.recipe`), save it with its figures and a
    copy of the recipe (and its screen unless `screen` is False). Returns the metrics per split."""
    from .model.recipe import load_recipe, train_recipe

    log = log or (lambda line: None)
    settings = load_recipe(recipe)
    model, metrics, facts = train_recipe(settings, smoke=smoke, workers=workers, log=log)
    save_with_screen(model, metrics, facts, settings, recipe, output, log, screen=screen)
    return {"output": str(output), "metrics": metrics}


def save_with_screen(model, metrics: dict, facts: dict, settings: dict, recipe: PathLike, output: PathLike,
                     log: Log | None = None, screen: bool = True) -> None:
    """Save a recipe's trained model as a cascade-ready folder: its screen (fitted on the
    recipe's data, keeping the model's flags; skipped when `screen` is False), its figures, and
    a copy of the recipe file."""
    from .model.cascade import screen_for_recipe
    from .model.pipeline import FrictionPipeline

    fitted = None
    if screen:
        fitted = screen_for_recipe(settings, encoder=model.encoder_, log=log or (lambda line: None), model=model)
        metrics["screen"] = fitted.tuning_
    FrictionPipeline.of(model, fitted).to_disk(output, metrics=metrics,
                                               extra={"model_id": model_name(output), **facts})
    if Path(recipe).resolve() != (Path(output) / "recipe.yaml").resolve():
        shutil.copyfile(recipe, Path(output) / "recipe.yaml")


def with_screen(model, df: pd.DataFrame, log: Log | None = None):
    """The trained classifier's pipeline, with a screen when the data has a dev split with
    friction to set the screen's threshold on (without one, every message goes to the model)."""
    from .model.cascade import screen_from_frames
    from .model.pipeline import FrictionPipeline

    has_dev = "split" in df.columns and bool((df.loc[df["split"] == "dev", "label_list"].map(len) > 0).any())
    if not has_dev:
        return FrictionPipeline.of(model)
    return FrictionPipeline.of(model, screen_from_frames(df, encoder=model.encoder_, log=log or (lambda line: None),
                                                         model=model))


def model_name(output: PathLike) -> str:
    """A saved model's id: its folder's name."""
    return os.path.basename(os.path.normpath(str(output)))


def evaluation_splits(df: pd.DataFrame, split: str = "test",
                      reference: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(test, train, dev) for `friction evaluate`: test is DATA's `split` (all of DATA when it has
    no such split); baselines train on the reference's train split (thresholds on its dev), or,
    without splits, on the reference rows that are not test rows."""
    test = df[df["split"] == split] if "split" in df.columns and (df["split"] == split).any() else df
    ref = df if reference is None else reference
    has = "split" in ref.columns and (ref["split"] == "train").any()
    train = ref[ref["split"] == "train"] if has else ref[~ref.index.isin(test.index)]
    dev = ref[ref["split"] == "dev"] if has else None
    return test, train, dev


def evaluate(data: PathLike, *, model: PathLike | None = None, split: str = "test",
             train_data: PathLike | None = None, baselines: bool = True, cascade: bool = True) -> dict:
    """Score a model on labelled DATA next to the baselines (keyword rules, TF-IDF + LR, frozen
    MiniLM + LR, zero-shot similarity), with the folder's pipeline (without its screen when
    `cascade` is False). Returns {"model_id", "label_ids", "split", "n", "pipeline", "runtime",
    "results": {name: figures}} with per-label P/R/F1, macro/micro F1, false alarms and ECE.

        >>> figures = friction.evaluate("corpora/train", baselines=False)
        >>> figures["results"][f"friction ({figures['model_id']})"]["macro_f1"]
    """
    from .corpus import load_corpus
    from .labels import DEFAULT_LABEL_IDS
    from .model.evaluation import score_baselines, score_model

    clf = load_model(model)
    if not cascade:
        clf = clf.without("screen")
    df = load_corpus(str(data), label_ids=clf.label_ids if clf.label_ids != list(DEFAULT_LABEL_IDS) else None)
    reference = load_corpus(str(train_data), label_ids=clf.label_ids) if train_data else None
    test, train_rows, dev = evaluation_splits(df, split, reference)
    results = {f"friction ({clf.model_id})": score_model(clf, test)}
    if baselines:
        if len(train_rows) == 0:
            raise ValueError("no training rows for the baselines (pass train_data / --train-data, or no baselines)")
        results.update(score_baselines(clf, train_rows, dev, test))
    return {"model_id": clf.model_id, "label_ids": list(clf.label_ids), "n": len(test),
            "split": split if "split" in df.columns else "all", "pipeline": list(clf.names),
            "runtime": clf.runtime, "results": results}
