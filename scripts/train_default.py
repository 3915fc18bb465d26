"""Remake the shipped model, models/default, from the corpus.

    python scripts/train_default.py                 # ~35 min on 2 CPU cores, ~2 min on one GPU

Recipe (chosen on the dev split with scripts/compare_methods.py): MiniLM fine-tuned end to end
with a weighted multi-label BCE loss, 6 epochs, lr 1.2e-4, batch 16, max 128 tokens; three seeds
averaged into one weight soup.
  1. three seeds on the train split -> soup -> Platt calibration and per-label thresholds on dev;
  2. three seeds on train+dev -> soup -> keeps stage 1's calibration and thresholds -> saved.
Stage 1's dev figures and stage 2's test figures go into metrics.json; the test split is never
used for any choice.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from friction.corpus import data_hash, label_matrix, load_corpus
from friction.labels import DEFAULT_LABELS
from friction.model.classifier import FrictionClassifier
from friction.model.evaluation import score_model

RECIPE = dict(method="finetune", epochs=6, lr=1.2e-4, batch_size=16, max_length=128)


def soup_of(df: pd.DataFrame, seeds: int, **recipe) -> FrictionClassifier:
    ids = [lab.id for lab in DEFAULT_LABELS]
    models = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        m = FrictionClassifier(labels=DEFAULT_LABELS, seed=seed, **recipe)
        m.fit(df["text"].tolist(), label_matrix(df["label_list"], ids), holdout=0, progress=True)
        print(f"  seed {seed}: {len(df)} messages, {time.perf_counter() - t0:.0f}s", flush=True)
        models.append(m)
    return FrictionClassifier.soup(models) if len(models) > 1 else models[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="corpora/train")
    ap.add_argument("-o", "--output", default="models/default")
    ap.add_argument("--seeds", type=int, default=3, help="seeds in the shipped soup (stage 2)")
    ap.add_argument("--stage1-seeds", type=int, default=None, help="seeds in the calibration soup (default: --seeds)")
    args = ap.parse_args()
    df = load_corpus(args.corpus)
    train, dev, test = (df[df["split"] == s] for s in ("train", "dev", "test"))
    ids = [lab.id for lab in DEFAULT_LABELS]
    t0 = time.perf_counter()
    print("stage 1: train split, calibrate on dev", flush=True)
    stage1 = soup_of(train, args.stage1_seeds or args.seeds, **RECIPE)
    stage1.calibrate(dev["text"].tolist(), label_matrix(dev["label_list"], ids))
    dev_fig, stage1_test = score_model(stage1, dev), score_model(stage1, test)
    print(f"  dev macro-F1 {dev_fig['macro_f1']:.3f}; stage-1 test macro-F1 {stage1_test['macro_f1']:.3f}", flush=True)
    print("stage 2: train+dev, stage 1's calibration", flush=True)
    both = pd.concat([train, dev])
    final = soup_of(both, args.seeds, **RECIPE)
    final.calib_, final.thresholds_ = stage1.calib_.copy(), stage1.thresholds_.copy()
    final.n_calibration_ = len(dev)
    test_fig = score_model(final, test)
    print(f"  test macro-F1 {test_fig['macro_f1']:.3f}, false alarms on none {test_fig['fpr_none']:.3f}", flush=True)
    metrics = {"dev (stage 1, trained on train)": dev_fig, "test (stage 1, trained on train)": stage1_test,
               "test (shipped, trained on train+dev)": test_fig}
    final.save(args.output, metrics=metrics, extra={
        "model_id": Path(args.output).name,
        "recipe": {**RECIPE, "seeds_in_soup": args.seeds, "calibration": "Platt per label + F1-best thresholds on dev (stage 1)"},
        "training_data": {"source": "corpora/train (train+dev splits)", "sha256": data_hash(both), "n": len(both),
                          "positives": {lid: int(sum(lid in labs for labs in both["label_list"])) for lid in ids}},
        "total_seconds": round(time.perf_counter() - t0)})
    print(json.dumps({"dev_macro_f1": dev_fig["macro_f1"], "test_macro_f1": test_fig["macro_f1"],
                      "test_fpr_none": test_fig["fpr_none"], "minutes": round((time.perf_counter() - t0) / 60, 1)}))


if __name__ == "__main__":
    main()
