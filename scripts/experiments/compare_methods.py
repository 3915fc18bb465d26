"""Compare training recipes on the corpus's dev split (and report test): direct multi-label
fine-tuning vs SetFit-style contrastive training, epochs, learning rates, chat context.

    python scripts/experiments/compare_methods.py                      # every recipe (a GPU makes this quick)
    python scripts/experiments/compare_methods.py --only finetune-6ep  # one recipe

Selection is by dev macro-F1; test figures are printed for the record, never used to choose.

One-off experiment. Decided: direct multi-label fine-tuning (SetFit-style training was 0.06-0.09
dev macro-F1 behind), each message read alone (thread context: dev +0.004, test -0.025); see the
model card.
"""

from __future__ import annotations

import argparse
import json
import time

from friction.corpus import load_corpus, previous_in_thread
from friction.labels import DEFAULT_LABELS
from friction.model.evaluation import score_model
from friction.model.training import train_on_splits

RECIPES = {
    "finetune-4ep": dict(method="finetune", epochs=4),
    "finetune-6ep": dict(method="finetune", epochs=6),
    "finetune-8ep": dict(method="finetune", epochs=8),
    "finetune-6ep-lr8e-5": dict(method="finetune", epochs=6, lr=8e-5),
    "finetune-6ep-len256": dict(method="finetune", epochs=6, max_length=256),
    "finetune-6ep-context": dict(method="finetune", epochs=6, use_context=True),
    "setfit-6ep": dict(method="setfit", epochs=6),
    "finetune-8ep-lr8e-5": dict(method="finetune", epochs=8, lr=8e-5),
    "finetune-10ep-lr8e-5": dict(method="finetune", epochs=10, lr=8e-5),
    "finetune-6ep-lr1.2e-4": dict(method="finetune", epochs=6, lr=1.2e-4),
    "finetune-8ep-lr8e-5-bs32": dict(method="finetune", epochs=8, lr=8e-5, batch_size=32),
}


def ensemble_figures(models, dev, test) -> tuple[dict, dict]:
    """Average the seeds' calibrated probabilities; thresholds re-tuned on dev for the average."""
    import numpy as np

    from friction.corpus import label_matrix
    from friction.model.baselines import tune_thresholds
    from friction.model.metrics import evaluate

    ids = models[0].label_ids
    pd_ = np.mean([m.predict_proba(dev["text"].tolist()) for m in models], axis=0)
    pt = np.mean([m.predict_proba(test["text"].tolist()) for m in models], axis=0)
    yd, yt = label_matrix(dev["label_list"], ids), label_matrix(test["label_list"], ids)
    thr = tune_thresholds(pd_, yd)
    return (evaluate(yd, pd_ >= thr, ids, proba=pd_, hard_negative=dev["hard_negative"].to_numpy()),
            evaluate(yt, pt >= thr, ids, proba=pt, hard_negative=test["hard_negative"].to_numpy()))


def _line(key: str, d: dict, t: dict) -> str:
    return (f"{key:<28} dev macroF1 {d['macro_f1']:.3f} fpr_none {d['fpr_none']:.3f} ece {d['ece']:.3f} | "
            f"test macroF1 {t['macro_f1']:.3f} fpr_none {t['fpr_none']:.3f} fpr_hn {t['fpr_hard_negative']:.3f} "
            f"ece {t['ece']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="corpora/train")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("--limit", type=int, default=0, help="train on this many rows only (smoke test)")
    args = ap.parse_args()
    df = load_corpus(args.corpus)
    if args.limit:
        df = df.drop(df[df["split"] == "train"].index[args.limit:])
    test = df[df["split"] == "test"]
    rows = {}
    dev = df[df["split"] == "dev"]
    for name, settings in RECIPES.items():
        if args.only and name not in args.only:
            continue
        models = []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            model, report = train_on_splits(df, list(DEFAULT_LABELS), progress=False, seed=seed, **settings)
            ctx = dict(zip(df.index, previous_in_thread(df))) if settings.get("use_context") else None
            tres = score_model(model, test, contexts=[ctx[i] for i in test.index] if ctx else None)
            models.append(model)
            key = f"{name}/seed{seed}"
            rows[key] = {"dev": report["dev"], "test": tres, "seconds": round(time.perf_counter() - t0)}
            d, t = report["dev"], tres
            print(_line(key, d, t) + f" | {rows[key]['seconds']}s", flush=True)
        if len(models) > 1 and not settings.get("use_context"):
            d, t = ensemble_figures(models, dev, test)
            rows[f"{name}/ensemble"] = {"dev": d, "test": t}
            print(_line(f"{name}/ensemble", d, t), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
