"""Score candidate soups by the dev rule alone, before one of them is built and tested.

    python scripts/experiments/soup_select.py RECIPE FOLDER [FOLDER ...] [--cache DIR]

The dev rule (fixed before any test figure is looked at): the mean of written-dev macro-F1 and
real-dev any-friction F1, with false alarms on `none` at most 3.5% on both dev splits. The margin
under the 5% test floor is measured, not guessed: written test false alarms ran 1.5-3 points above
written dev for every model before (3.1 -> 4.7%, 4.8 -> 5.1%, 3.4 -> 5.4%, 1.7 -> 4.0%), and the
5% dev cap used until 2026-12-07 let through a five-model soup at 4.4% dev that had 7.6% on test. The folders
are weight-averaged as `scripts/soup_folders.py` does (fp32), calibrated on written + real dev by
each threshold rule of the recipe (`pooled`, `worlds`), and scored on the same dev. No test split
is read. The winner is then built with `scripts/soup_folders.py` and evaluated once.

`capped` (not a recipe rule): the pooled thresholds, then raised greedily (the label and step
that remove the most false alarms per point of dev rule lost) until both dev splits are at the
cap, so candidates that differ in false alarms are compared at equal false alarms.

Result (2026-12-08, FRICTION_INT8=0): training on every window of long texts
(`settings: train_windows: 4`, the shipped two-model recipe otherwise):

    soup                          pooled                               capped (3.5%)
    shipped                       0.612 (written / real dev FA 2.7/2.2%)  0.612
    train_windows 4               0.621 (5.4% / 2.1%: out)              0.609 (3.4% / 1.8%)
    shipped + both of those       0.614 (4.1% / 2.4%: out)              0.613

The last line printed (ranking, no thresholds) says why: windowed training ranks real dev better
(average precision of the any-friction score 0.366 -> 0.395; on messages longer than a window
0.393 -> 0.433; AUC 0.885 -> 0.895), and the written-dev false alarms it adds come from one label's
pooled threshold (culture_clash 0.275 -> 0.175: 9 written-dev `none` messages flagged with it
instead of 3). A threshold rule that keeps one label from buying real recall with written false
alarms would let the better ranking show; none was chosen after seeing this.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from friction.corpus import label_matrix  # noqa: E402
from friction.labels import DEFAULT_LABEL_IDS  # noqa: E402
from friction.model.classifier import FrictionClassifier  # noqa: E402
from friction.model.calibration import f1_thresholds, platt_apply, platt_fit  # noqa: E402
from friction.model.metrics import evaluate  # noqa: E402
from friction.model.recipe import dev_frame, load_recipe, world_splits  # noqa: E402
from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool  # noqa: E402
from window_lengths import longer_than_a_window  # noqa: E402  (this folder: scripts/experiments)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--cache", default=None, help="folder for dev logits per candidate")
    ap.add_argument("--max-dev-fa", type=float, default=0.035, help="false-alarm cap on each dev split")
    args = ap.parse_args()
    recipe = load_recipe(args.recipe)
    read = load_real_corpus(recipe["real"], pool=read_pool(recipe["pool"] or DEFAULT_POOL))
    dev = dev_frame(world_splits(recipe, read))
    key = hashlib.sha1("|".join(sorted(str(Path(f).resolve()) for f in args.folders)).encode()).hexdigest()[:12]
    cached = Path(args.cache) / f"dev_logits_{key}.npy" if args.cache else None
    if cached is not None and cached.exists():
        logits = np.load(cached)
    else:
        models = [FrictionClassifier.load(f, precision="fp32") for f in args.folders]
        model = FrictionClassifier.soup(models) if len(models) > 1 else models[0]
        logits = model.decision_function(dev.text.tolist())
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, logits)
    ids = list(DEFAULT_LABEL_IDS)
    y = label_matrix(dev.label_list, ids)
    proba = platt_apply(logits, platt_fit(logits, y))
    worlds = dev.world.to_numpy()
    pooled = f1_thresholds(proba, y)
    rules = {"pooled": pooled, "worlds": f1_thresholds(proba, y, worlds),
             "capped": capped(pooled, proba, y, worlds, ids, args.max_dev_fa)}
    for rule, t in rules.items():
        fig, score, fa = dev_figures(t, proba, y, worlds, ids)
        ok = fa <= args.max_dev_fa
        print(f"{' + '.join(Path(f).name for f in args.folders)} [{rule}]: dev rule {score:.3f}{'' if ok else f' (dev FA > {args.max_dev_fa:.1%}: out)'}"
              f"  written dev macro-F1 {fig['written']['macro_f1']:.3f} FA {fig['written']['fpr_none']:.3f}"
              f"  real dev any-F1 {fig['real']['any_friction']['f1']:.3f} (P {fig['real']['any_friction']['precision']:.2f}"
              f" R {fig['real']['any_friction']['recall']:.2f}) FA {fig['real']['fpr_none']:.3f}")

    from sklearn.metrics import average_precision_score, roc_auc_score

    real, score = worlds == "real", proba.max(1)
    long_ = longer_than_a_window(dev.text.tolist())
    none = (worlds == "written") & ~y.any(1)
    print(f"ranking: real dev AP {average_precision_score(y[real].any(1), score[real]):.3f} "
          f"(longer than a window {average_precision_score(y[real & long_].any(1), score[real & long_]):.3f}), "
          f"AUC {roc_auc_score(y[real].any(1), score[real]):.3f}; pooled thresholds "
          + ", ".join(f"{lid} {v:.3f} ({int((proba[none, i] >= v).sum())} written-dev none)" for i, (lid, v) in enumerate(zip(ids, pooled))))


def dev_figures(t: np.ndarray, proba: np.ndarray, y: np.ndarray, worlds: np.ndarray, ids: list[str]):
    """(figures per world, dev rule, the higher of the two dev false-alarm rates) at thresholds t."""
    fig = {w: evaluate(y[worlds == w], (proba[worlds == w] >= t).astype(np.int8), ids) for w in ("written", "real")}
    return fig, (fig["written"]["macro_f1"] + fig["real"]["any_friction"]["f1"]) / 2, max(f["fpr_none"] for f in fig.values())


def capped(t: np.ndarray, proba: np.ndarray, y: np.ndarray, worlds: np.ndarray, ids: list[str], cap: float) -> np.ndarray:
    """Raise thresholds until both dev splits' false alarms are at most `cap`: each step takes the
    label and rise (0.025-0.4) that remove the most false alarms per point of dev rule lost."""
    t = t.astype(float).copy()
    _, score, fa = dev_figures(t, proba, y, worlds, ids)
    while fa > cap:
        best = None
        for i in range(len(ids)):
            for rise in np.arange(0.025, 0.41, 0.025):
                t2 = t.copy()
                t2[i] = min(0.95, t[i] + rise)
                _, s2, fa2 = dev_figures(t2, proba, y, worlds, ids)
                gain = (fa - fa2) / max(1e-6, score - s2 + 1e-4)
                if fa2 < fa - 1e-9 and (best is None or gain > best[0]):
                    best = (gain, t2, s2, fa2)
        if best is None:
            break
        _, t, score, fa = best
    return t


if __name__ == "__main__":
    main()
