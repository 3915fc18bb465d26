#!/usr/bin/env python
"""The shipped model and four baselines trained on the same data, on the written and the real test splits.

    python scripts/evaluate_worlds.py [--model models/default] [--json out.json] [--no-baselines]

Baselines (keyword rules, TF-IDF + LR, frozen MiniLM + LR, zero-shot similarity) train on written
train + real train with thresholds on both dev splits, as the shipped recipe does. The real test
split is communities no training message came from; its random stratum is real traffic at its
natural base rate (about 3% friction).
"""

from __future__ import annotations

import argparse
import json

from friction.model import load_model
from friction.model.evaluation import evaluate_both_worlds
from friction.model.metrics import format_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--written", default="corpora/train")
    ap.add_argument("--real", default="corpora/real/labels.csv")
    ap.add_argument("--json", dest="json_out", default=None)
    ap.add_argument("--no-baselines", action="store_true")
    args = ap.parse_args()
    model = load_model(args.model)
    res = evaluate_both_worlds(model, args.written, args.real, baselines=not args.no_baselines)
    tests = next(iter(res.values())).keys()
    for test in tests:
        print(f"\n## {test}")
        print(format_table({system: per[test] for system, per in res.items()}, model.label_ids))
        print("any friction (P / R / F1):  " + "   ".join(
            f"{s}: {v[test]['any_friction']['precision']:.2f} / {v[test]['any_friction']['recall']:.2f} / "
            f"{v[test]['any_friction']['f1']:.2f}" for s, v in res.items()))
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
