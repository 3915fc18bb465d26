"""Remake the shipped model from its recipe: `friction.train(recipe=...)`, the same as
`friction train --recipe models/default/recipe.yaml -o models/default`.

    python scripts/train_default.py [--recipe models/default/recipe.yaml] [-o models/default] [--smoke]
"""

from __future__ import annotations

import argparse

import friction

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="models/default/recipe.yaml")
    ap.add_argument("-o", "--output", default="models/default")
    ap.add_argument("--smoke", action="store_true", help="one epoch on 300 messages: checks the recipe runs")
    args = ap.parse_args()
    friction.train(recipe=args.recipe, output=args.output, smoke=args.smoke, log=print)
    print(f"saved model to {args.output}")
