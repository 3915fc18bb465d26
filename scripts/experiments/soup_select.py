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
    for rule in ("pooled", "worlds"):
        t = f1_thresholds(proba, y, worlds if rule == "worlds" else None)
        fig = {w: evaluate(y[worlds == w], (proba[worlds == w] >= t).astype(np.int8), ids) for w in ("written", "real")}
        ok = max(f["fpr_none"] for f in fig.values()) <= args.max_dev_fa
        score = (fig["written"]["macro_f1"] + fig["real"]["any_friction"]["f1"]) / 2
        print(f"{' + '.join(Path(f).name for f in args.folders)} [{rule}]: dev rule {score:.3f}{'' if ok else f' (dev FA > {args.max_dev_fa:.1%}: out)'}"
              f"  written dev macro-F1 {fig['written']['macro_f1']:.3f} FA {fig['written']['fpr_none']:.3f}"
              f"  real dev any-F1 {fig['real']['any_friction']['f1']:.3f} (P {fig['real']['any_friction']['precision']:.2f}"
              f" R {fig['real']['any_friction']['recall']:.2f}) FA {fig['real']['fpr_none']:.3f}")


if __name__ == "__main__":
    main()
