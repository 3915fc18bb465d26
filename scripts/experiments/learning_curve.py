"""Retraining on company data: macro-F1 on held-out organisations with 8, 16, 32 and all
examples per label, for a custom label set that renames one label and adds a new one
(corpora/custom/labels.yaml), from plain MiniLM and continuing from models/default.

    python scripts/experiments/learning_curve.py [--sizes 8,16,32,0] [--starts minilm,default]

Training pool: the corpus train split (mapped through the renames) + corpora/custom/train.jsonl
(the new label, another organisation). Test: the corpus test split + corpora/custom/test.jsonl.
Small runs have no held-out data for calibration, so they use 0.5 thresholds; "all" calibrates
on the corpus dev split plus a fifth of the new label's examples.

One-off experiment. Decided: retrain from models/default (`friction train --from models/default`),
not plain MiniLM: 0.69 vs 0.25 macro-F1 at 8 examples per label (model card).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from friction.corpus import label_matrix, load_corpus
from friction.labels import load_label_set
from friction.model.classifier import FrictionClassifier
from friction.model.evaluation import score_model


def sample_per_label(pool: pd.DataFrame, ids: list[str], n: int, seed: int) -> pd.DataFrame:
    """n positives for every label (a message counts for each label it carries) plus as many
    `none` messages as the positives picked, half of them hard negatives."""
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for lid in ids:
        have = sum(lid in pool.at[i, "label_list"] for i in chosen)
        cands = [i for i in pool.index if lid in pool.at[i, "label_list"] and i not in chosen]
        chosen.update(rng.choice(cands, size=max(0, min(n - have, len(cands))), replace=False).tolist())
    none = pool[pool["label_list"].str.len() == 0]
    k = len(chosen)
    hard = none[none["hard_negative"]]
    soft = none[~none["hard_negative"]]
    chosen.update(rng.choice(hard.index, size=min(k // 2, len(hard)), replace=False).tolist())
    chosen.update(rng.choice(soft.index, size=min(k - k // 2, len(soft)), replace=False).tolist())
    return pool.loc[sorted(chosen)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="8,16,32,0", help="examples per label; 0 = all")
    ap.add_argument("--starts", default="minilm,default")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    labels, renames = load_label_set("corpora/custom/labels.yaml")
    ids = [lab.id for lab in labels]
    corpus = load_corpus("corpora/train", label_ids=ids, renames=renames)
    custom_train = load_corpus("corpora/custom/train.jsonl", label_ids=ids, renames=renames)
    custom_test = load_corpus("corpora/custom/test.jsonl", label_ids=ids, renames=renames)
    new_dev = custom_train.sample(frac=0.2, random_state=0)
    pool = pd.concat([corpus[corpus["split"] == "train"], custom_train.drop(new_dev.index)], ignore_index=True)
    dev = pd.concat([corpus[corpus["split"] == "dev"], new_dev], ignore_index=True)
    test = pd.concat([corpus[corpus["split"] == "test"], custom_test], ignore_index=True)
    head_from = {new: old for old, new in renames.items()}
    results = []
    print(f"{'start':<9} {'per label':>9} {'train n':>8} {'macro-F1':>9} {'new label F1':>13} {'renamed F1':>11} {'secs':>6}")
    for start in args.starts.split(","):
        for n in [int(s) for s in args.sizes.split(",")]:
            train = pool if n == 0 else sample_per_label(pool, ids, n, seed=0)
            epochs = 6 if n == 0 else int(min(30, max(8, 2500 / len(train))))
            t0 = time.perf_counter()
            m = FrictionClassifier(labels=labels, epochs=epochs, lr=1.2e-4,
                                   base="models/default" if start == "default" else None, head_from=head_from)
            m.fit(train["text"].tolist(), label_matrix(train["label_list"], ids), holdout=0, progress=False)
            if n == 0:
                m.calibrate(dev["text"].tolist(), label_matrix(dev["label_list"], ids))
            res = score_model(m, test)
            row = {"start": start, "per_label": n or "all", "n_train": len(train), "macro_f1": res["macro_f1"],
                   "escalation_bypass_f1": res["per_label"]["escalation_bypass"]["f1"],
                   "ownership_conflict_f1": res["per_label"]["ownership_conflict"]["f1"],
                   "fpr_none": res["fpr_none"], "seconds": round(time.perf_counter() - t0)}
            results.append(row)
            print(f"{start:<9} {str(row['per_label']):>9} {len(train):>8} {row['macro_f1']:>9.3f} "
                  f"{row['escalation_bypass_f1']:>13.3f} {row['ownership_conflict_f1']:>11.3f} {row['seconds']:>6}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
