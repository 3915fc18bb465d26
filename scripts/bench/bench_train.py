#!/usr/bin/env python
"""Training speed, fp32 against bf16 autocast, on the same messages in the same process.

    python scripts/bench/bench_train.py [--n 320]

Prints messages/s of fine-tuning for each precision and their ratio; decides whether
`FrictionClassifier` trains under bf16 autocast on CPUs that multiply bf16 natively.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from friction.corpus import label_matrix, load_corpus
from friction.labels import DEFAULT_LABELS
from friction.model.classifier import FrictionClassifier
from friction.settings import refresh_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=320)
    args = ap.parse_args()
    df = load_corpus().sample(args.n, random_state=0)
    ids = [lab.id for lab in DEFAULT_LABELS]
    y = label_matrix(df["label_list"], ids)
    out = {}
    for precision in ("fp32", "bf16", "fp32"):
        os.environ["FRICTION_PRECISION"] = precision
        refresh_settings()  # settings are read once per process: read the changed variable
        m = FrictionClassifier(epochs=1, lr=1.2e-4)
        t0 = time.perf_counter()
        m.fit(df["text"].tolist(), y, holdout=0, progress=False)
        out[precision] = round(args.n / (time.perf_counter() - t0), 1)
    out["ratio"] = round(out["bf16"] / out["fp32"], 2)
    print(json.dumps({"messages_per_s": out}))


if __name__ == "__main__":
    main()
