#!/usr/bin/env python
"""What each data source adds, measured with a cheap stand-in for the transformer.

    python scripts/ablation_sources.py [--json out.json]

TF-IDF + logistic regression (the `TfidfBaseline`) trained on growing mixes of the recipe's data,
thresholds on the matching dev splits, scored on the written and the real test splits. A fine-tuned
MiniLM per mix costs ~30 min each on this machine; the linear stand-in shows the direction of each
source's effect in a minute.
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

from friction.corpus import label_matrix, load_corpus
from friction.labels import DEFAULT_LABEL_IDS
from friction.model.baselines import TfidfBaseline
from friction.model.metrics import evaluate
from friction.model.recipe import background_negatives
from friction.realtext import read_pool


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    ids = list(DEFAULT_LABEL_IDS)
    w, r = load_corpus("corpora/train"), load_corpus("corpora/real/labels.csv")
    pool = read_pool()
    part = {(name, s): d[d.split == s] for name, d in (("w", w), ("r", r)) for s in ("train", "dev", "test")}
    labelled = pd.concat([part["w", "train"], part["r", "train"]])
    teacher = TfidfBaseline().fit(labelled.text.tolist(), label_matrix(labelled.label_list, ids))
    bg = background_negatives(pool, set(r.pointer), teacher, 3000, 0.5, 0)
    mixes = {
        "written only": ([part["w", "train"]], [part["w", "dev"]]),
        "real only": ([part["r", "train"]], [part["r", "dev"]]),
        "written + real": ([part["w", "train"], part["r", "train"]], [part["w", "dev"], part["r", "dev"]]),
        "written + real + background": ([part["w", "train"], part["r", "train"], bg], [part["w", "dev"], part["r", "dev"]]),
    }
    tests = {"written test": part["w", "test"], "real test": part["r", "test"],
             "real test, random stratum": part["r", "test"][part["r", "test"].stratum == "random"]}
    out = {}
    print(f"{'mix':<30} " + " ".join(f"{t:>34}" for t in tests))
    for name, (trs, devs) in mixes.items():
        tr, dv = pd.concat(trs), pd.concat(devs)
        m = TfidfBaseline().fit(tr.text.tolist(), label_matrix(tr.label_list, ids),
                                dev=(dv.text.tolist(), label_matrix(dv.label_list, ids)))
        out[name] = {t: evaluate(label_matrix(d.label_list, ids), m.predict(d.text.tolist()), ids) for t, d in tests.items()}
        print(f"{name:<30} " + " ".join(
            f"macroF1 {v['macro_f1']:.3f} anyF1 {v['any_friction']['f1']:.3f} FA {v['fpr_none']:.3f}".rjust(34)
            for v in out[name].values()), flush=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
