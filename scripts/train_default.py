"""Remake the shipped model from its recipe (a thin wrapper over `friction train --recipe`).

    python scripts/train_default.py [--recipe models/default/recipe.yaml] [-o models/default] [--smoke]
"""

from __future__ import annotations

import sys

from friction.cli import cli

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--recipe" not in args:
        args = ["--recipe", "models/default/recipe.yaml", *args]
    if "-o" not in args and "--output" not in args:
        args = [*args, "-o", "models/default"]
    cli(["train", *args])
