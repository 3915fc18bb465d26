"""Weight-average model folders trained by one recipe's soup ingredients into one folder.

`friction train --recipe` does this itself when the recipe lists `soup` ingredients; this script
is for ingredients already trained one by one (each with `friction train --recipe` and the
ingredient's keys), so a soup costs no second training:

    python scripts/soup_folders.py models/default/recipe.yaml A B -o models/default

The soup is calibrated again on written dev + real dev, scored on every split, given its screen
and saved with the recipe. Given one folder, it is calibrated again with the recipe's pooling
and thresholds rule (and given a new screen): how a recipe change that needs no training
reaches a folder.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    from friction.api import save_with_screen
    from friction.model.classifier import FrictionClassifier
    from friction.model.recipe import finish, load_recipe, world_splits
    from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    t0 = time.perf_counter()
    recipe = load_recipe(args.recipe)
    read = load_real_corpus(recipe["real"], pool=read_pool(recipe["pool"] or DEFAULT_POOL))
    models = [FrictionClassifier.load(f, precision="fp32", exact=True) for f in args.folders]
    model, metrics = finish(models, world_splits(recipe, read), thresholds=recipe["thresholds"],
                             pooling=recipe["pooling"])
    configs = [json.loads((Path(f) / "config.json").read_text()) for f in args.folders]
    facts = configs[0]
    rec = {**facts.get("recipe", {}), **{k: recipe[k] for k in ("real_exclude_strata", "real_positive_weight", "thresholds", "pooling", "soup")}}
    # the card's "time to remake": the ingredients' training (side by side, as `friction train
    # --recipe` runs them: the longest one) plus this soup step
    trained = max(c.get("total_seconds", 0) for c in configs)
    extra = {"recipe": rec, "training_data": {**facts.get("training_data", {}), "soup_of": recipe["soup"] or len(models)},
             "total_seconds": round(trained + time.perf_counter() - t0)}
    save_with_screen(model, metrics, extra, recipe, args.recipe, args.output, log=print)


if __name__ == "__main__":
    main()
