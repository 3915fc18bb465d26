"""How much of each training world is longer than one 128-token window (what first-window training
never reads; see FrictionClassifier's train_windows).

    python scripts/experiments/window_lengths.py [models/default/recipe.yaml]

Counted with the shipped encoder's tokenizer on the recipe's written corpus and real labelled
messages (text joined from ../shared/external_train). Result (2026-12-08): real train 29.8% of
messages and 41.5% of positives (425) are longer than a window (Enron 44%, kernel lists 50%,
committees 24%); real test 42% and 59% of positives; written train 1.4%.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def longer_than_a_window(texts: list[str]) -> np.ndarray:
    """Which texts the shipped encoder's tokenizer makes longer than one 128-token window."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ROOT / "models" / "default" / "encoder", local_files_only=True)
    return np.array([len(ids) > 128 for ids in tok(list(texts), verbose=False)["input_ids"]], dtype=bool)


def main() -> None:
    from friction.model.recipe import load_recipe, world_splits
    from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool

    recipe = load_recipe(sys.argv[1] if len(sys.argv) > 1 else ROOT / "models" / "default" / "recipe.yaml")
    parts = world_splits(recipe, load_real_corpus(recipe["real"], pool=read_pool(recipe["pool"] or DEFAULT_POOL)))
    for world, splits in parts.items():
        for split, df in splits.items():
            df = df.assign(long=longer_than_a_window(df.text.tolist()), pos=df.label_list.map(len) > 0)
            print(f"{world} {split}: {len(df)} messages, {df.long.mean():.1%} longer than a window; "
                  f"positives {df.pos.sum()}, {df.long[df.pos].mean():.1%} of them longer ({(df.long & df.pos).sum()})")
            if world == "real":
                for source, g in df.groupby("source"):
                    print(f"    {source}: {len(g)} messages, {g.long.mean():.0%} longer")


if __name__ == "__main__":
    main()
