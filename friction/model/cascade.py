"""Building the screen of a model folder: a step of training, not a script that patches JSON.

The screen learns "any friction at all" from the labelled messages of both worlds (our written
corpus, real messages read by annotators) plus unlabelled real messages of the training
communities as background negatives, so it knows what ordinary real traffic looks like. Its
threshold is the highest that still passes `recall` of the friction in every dev set (the real
dev split first of all); no test split is used for a choice.

With the trained model at hand, "the friction" is what the model flags on those dev sets: the
screen exists to spare the model the messages it would not flag, and a message the model misses
anyway costs the cascade nothing. Measured on the pool's dev communities (real traffic never
trained on): the static screen tuned to keep 98% of the *labelled* real-dev friction passed 55% of
it (first both-worlds model); tuned to keep 98% of the model's real-dev flags, 22% (soup model; it
still keeps 89% of the labelled friction). Both recalls are kept in the tuning record.

    make_cascade_ready("models/default", "models/default/recipe.yaml")   # after a retrain

does it for a trained folder (`friction build-screen MODEL --recipe FILE` is the same from the
shell); `friction train --recipe` calls it before saving, so its folder comes out cascade-ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .screen import FrictionScreen

#: unlabelled training-split messages taken per pool source as background negatives
BACKGROUND_PER_SOURCE = 8000
BACKGROUND_WEIGHT = 1.0


def any_friction(df: pd.DataFrame) -> np.ndarray:
    return (df["label_list"].map(len) > 0).to_numpy()


def background(pool: pd.DataFrame, labelled_pointers: set[str], per_source: int = BACKGROUND_PER_SOURCE,
               seed: int = 0) -> pd.DataFrame:
    """Unlabelled messages of the pool's training communities (never dev or test), up to
    `per_source` from each source, as negatives: the read base rate of friction is ~3%."""
    from ..realtext import pointer

    cand = pool[(pool["split"] == "train") & ~pool["key"].map(pointer).isin(labelled_pointers)]
    cand = cand[cand["text"].str.strip().str.len() > 0]
    return pd.concat([g.sample(min(per_source, len(g)), random_state=seed) for _, g in cand.groupby("source")],
                     ignore_index=True)


def fit_screen(screen, train_texts: list[str], train_y: np.ndarray, dev: dict[str, tuple[list[str], np.ndarray]],
               recall: float = 0.98, sample_weight: np.ndarray | None = None,
               labelled: dict[str, np.ndarray] | None = None):
    """Fit `screen` (a FrictionScreen, StaticScreen or ConvScreen), then set its threshold: the highest at
    which every dev set keeps at least `recall` of its friction (0 when none does, so the screen
    passes everything). `dev` maps a name to (texts, friction to keep); when that is the model's
    flags, `labelled` gives each dev set's labelled friction, whose recall is recorded too."""
    screen.fit(train_texts, train_y, sample_weight=sample_weight)
    scores = {name: (screen.predict_proba(texts), np.asarray(y, bool)) for name, (texts, y) in dev.items()}
    grid = np.concatenate([np.round(np.arange(0.0005, 0.005, 0.0005), 4), np.round(np.arange(0.005, 0.995, 0.005), 3)])
    ok = [t for t in grid if all((p[y] >= t).mean() >= recall for p, y in scores.values() if y.any())]
    screen.threshold_ = float(max(ok)) if ok else 0.0
    tuning: dict = {"recall_target": recall, "trained_on": int(len(train_texts)),
                    "trained_positives": int(np.asarray(train_y).sum())}
    for name, (p, y) in scores.items():
        keep = p >= screen.threshold_
        tuning[name] = {"n": int(len(y)), "friction": int(y.sum()),
                        "recall": round(float(keep[y].mean()), 4) if y.any() else None,
                        "pass_rate": round(float(keep.mean()), 4),
                        "pass_rate_none": round(float(keep[~y].mean()), 4) if (~y).any() else None}
        if labelled is not None and name in labelled:
            lab = np.asarray(labelled[name], bool)
            tuning[name].update({"labelled_friction": int(lab.sum()),
                                 "labelled_recall": round(float(keep[lab].mean()), 4) if lab.any() else None})
    screen.tuning_ = tuning
    return screen


def screen_from_frames(written: pd.DataFrame, real: pd.DataFrame | None = None, pool: pd.DataFrame | None = None,
                       encoder=None, recall: float = 0.98, per_source: int = BACKGROUND_PER_SOURCE,
                       seed: int = 0, log: Callable[[str], None] = print, model=None):
    """The screen from corpora in `load_corpus` shape (split column: train / dev / test), with
    the real corpus and the unlabelled pool when given. With the model's `encoder`, a static and a
    convolutional screen over token vectors distilled from it are fitted too, and the one that
    passes least dev traffic at the same recall is kept (pass rates on the pool's dev communities,
    real traffic never trained on, else on the dev sets' neutral messages); every candidate's
    figures are kept in its tuning record. With the trained `model`, the friction to keep is what
    the model flags: on each dev set the threshold keeps `recall` of its flags (see the module
    docstring), and the screens learn from the training texts' labels and the model's flags on them
    together (the convolutional screen passed 16.2% of dev-community traffic learning the labels
    alone, 12.9% with the flags too: scripts/experiments/screen_conv.py)."""
    parts = [written[written["split"] == "train"]]
    dev = {"written dev": written[written["split"] == "dev"]}
    if real is not None:
        parts.append(real[real["split"] == "train"])
        dev = {"real dev": real[real["split"] == "dev"], **dev}
    bg = background(pool, set(real["pointer"]) if real is not None and "pointer" in real else set(),
                    per_source, seed) if pool is not None else pd.DataFrame({"text": []})
    labelled = pd.concat(parts, ignore_index=True)
    texts = labelled["text"].tolist() + bg["text"].tolist()
    y = np.concatenate([any_friction(labelled), np.zeros(len(bg), bool)])
    weights = np.concatenate([np.ones(len(labelled)), np.full(len(bg), BACKGROUND_WEIGHT)])
    dev_sets = {name: (d["text"].tolist(), any_friction(d)) for name, d in dev.items() if len(d)}
    labelled = None
    if model is not None:
        labelled = {name: y for name, (_, y) in dev_sets.items()}
        dev_sets = {name: (t, model.predict(t).any(axis=1)) for name, (t, _) in dev_sets.items()}
        log(f"screen: the model reads the {len(texts)} training texts (its flags are friction to keep too)")
        y = y | model.predict(texts).any(axis=1)
    candidates = [FrictionScreen(C=16.0)]
    if encoder is not None:
        from .conv_screen import ConvScreen
        from .static_screen import StaticScreen, token_vectors

        vectors = token_vectors(encoder)
        candidates += [StaticScreen.from_encoder(encoder, vectors), ConvScreen.from_encoder(encoder, vectors, seed=seed)]
    traffic = pool[pool["split"] == "dev"] if pool is not None else None
    fitted = []
    for screen in candidates:
        fit_screen(screen, texts, y, dev_sets, recall=recall, sample_weight=weights, labelled=labelled)
        screen.tuning_["recall_of"] = "the model's flags" if model is not None else "labelled friction"
        if traffic is not None:  # real traffic the screen never saw: the dev communities, unlabelled
            keep = screen.passes(traffic["text"].tolist())
            screen.tuning_["real traffic (pool dev communities)"] = {
                "n": int(len(traffic)), "pass_rate": round(float(keep.mean()), 4),
                "by_source": {k: round(float(v), 4)
                              for k, v in pd.Series(keep).groupby(traffic["source"].to_numpy()).mean().items()}}
        fitted.append(screen)
        log(f"screen {type(screen).__name__}: threshold {screen.threshold_:.3f}; " + "; ".join(
            f"{k} recall {v['recall']} pass {v['pass_rate']}" if "recall" in v else f"{k} pass {v['pass_rate']}"
            for k, v in screen.tuning_.items() if isinstance(v, dict)))

    def dev_pass(screen) -> float:
        t = screen.tuning_
        if "real traffic (pool dev communities)" in t:
            return t["real traffic (pool dev communities)"]["pass_rate"]
        return float(np.mean([v["pass_rate_none"] for v in t.values() if isinstance(v, dict) and v.get("pass_rate_none") is not None]))

    best = min(fitted, key=dev_pass)
    best.tuning_["candidates"] = {type(s).__name__: {"threshold": s.threshold_, "dev pass rate": dev_pass(s)} for s in fitted}
    return best


def screen_for_recipe(recipe: dict, encoder=None, log: Callable[[str], None] = print, model=None):
    """The screen for a training recipe's data (see friction/model/recipe.py): written corpus,
    real labelled corpus joined from the pool, the pool itself for background and traffic."""
    from ..corpus import load_corpora
    from ..realtext import DEFAULT_POOL, load_real_corpus, read_pool

    written = load_corpora(recipe["written"])
    pool = read_pool(recipe.get("pool") or DEFAULT_POOL)
    real = load_real_corpus(recipe["real"], pool=pool)
    real = real[~real["stratum"].isin(recipe.get("real_exclude_strata") or [])]  # as the recipe trains
    return screen_from_frames(written, real, pool, encoder=encoder, seed=recipe.get("settings", {}).get("seed", 0),
                              log=log, model=model)


def make_cascade_ready(folder: str | Path, recipe_file: str | Path | None = None,
                       log: Callable[[str], None] = print) -> dict:
    """Give a trained model folder its screen and save the whole folder (screen, classifier,
    inference settings, pipeline order) through `FrictionPipeline.to_disk`. With a recipe, the
    screen learns from the recipe's data; without, from the folder's recipe.yaml when it has one,
    else from the written corpus alone. Returns the screen's tuning figures."""
    from ..corpus import load_corpus
    from ..shipped import CHECKOUT_ROOT
    from .pipeline import FrictionPipeline
    from .recipe import load_recipe

    folder = Path(folder)
    recipe_file = recipe_file or (folder / "recipe.yaml" if (folder / "recipe.yaml").exists() else None)
    model = FrictionPipeline.from_disk(folder, precision="fp32", exact=True).classifier
    if recipe_file:
        screen = screen_for_recipe(load_recipe(recipe_file), encoder=model.encoder_, log=log, model=model)
    else:
        screen = screen_from_frames(load_corpus(CHECKOUT_ROOT / "corpora" / "train"),
                                    encoder=model.encoder_, log=log, model=model)
    if (folder / "screen").is_dir():
        import shutil

        shutil.rmtree(folder / "screen")  # a screen of the other kind leaves no stray files
    FrictionPipeline.of(model, screen).to_disk(folder)
    return screen.tuning_
