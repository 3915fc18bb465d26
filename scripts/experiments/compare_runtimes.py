"""Which runtime and reading budget should the transformer use on CPUs without native bf16?
Macro-F1 on the written and the real test splits and messages/s on real traffic (one core), for
PyTorch fp32 and bf16, PyTorch int8 (dynamic quantisation of the attention layers,
`FrictionClassifier.quantize`), ONNX Runtime int8 (dynamic quantisation of the exported encoder),
and a token budget for long messages (at most N windows of 128 tokens: the first ones and the last),
all measured in this one process against fp32.

    pip install -e ".[onnx]"          # onnxruntime + onnx, optional
    taskset -c 1 python scripts/experiments/compare_runtimes.py [models/default] [--write]

The quality rule (issue 11): a cheaper option is kept only if macro-F1 stays within 0.5 point of
fp32 on both test splits. One-off experiment; its verdicts are recorded in the model folder.
`--write` records the verdicts in the folder's inference settings
("int8", "onnx_int8", "windows_per_message"), which the runtime chooser reads at load time (friction/model/runtime.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))  # the benchmarks' shared input

from bench_input import cpu_flags, real_traffic  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(ROOT / "models" / "default"))
    ap.add_argument("--traffic", type=int, default=1000, help="real-traffic messages timed per option")
    ap.add_argument("--windows", type=int, default=3, help="the token budget tried, in 128-token windows")
    ap.add_argument("--write", action="store_true", help="record what passes the quality rule in the folder")
    args = ap.parse_args()

    from friction.corpus import label_matrix, load_corpus
    from friction.model.classifier import FrictionClassifier
    from friction.model.metrics import evaluate
    from friction.model.runtime import onnx_available
    from friction.settings import refresh_settings
    from friction.realtext import load_real_corpus

    written = load_corpus(ROOT / "corpora" / "train").query("split == 'test'")
    real = load_real_corpus().query("split == 'test'")
    traffic = real_traffic(args.traffic, seed=3)["text"].tolist()

    def load(runtime: str, precision: str, windows: int | None = None) -> FrictionClassifier:
        os.environ["FRICTION_RUNTIME"] = "torch" if runtime == "torch-int8" else runtime
        refresh_settings()  # settings are read once per process: read the changed variable
        m = FrictionClassifier.load(args.model, precision=precision, exact=runtime != "onnx")  # int8 where asked
        m.windows_per_message = windows
        return m.quantize() if runtime == "torch-int8" else m

    options = [("torch fp32", "torch", "fp32", None), ("torch bf16", "torch", "bf16", None),
               (f"torch fp32, {args.windows} windows", "torch", "fp32", args.windows),
               ("torch int8 attention", "torch-int8", "fp32", None),
               (f"torch int8 attention, {args.windows} windows", "torch-int8", "fp32", args.windows)]
    if onnx_available():
        options.append(("onnx int8", "onnx", "fp32", None))
    else:
        print('ONNX Runtime is not installed (pip install -e ".[onnx]"): its row is left out')
    rows = []
    for name, runtime, precision, windows in options:
        m = load(runtime, precision, windows)
        m.decision_function(traffic[:32])  # warm up
        t0 = time.perf_counter()
        m.decision_function(traffic)
        rate = len(traffic) / (time.perf_counter() - t0)
        f1 = [evaluate(label_matrix(d["label_list"], m.label_ids), m.predict(d["text"].tolist()), m.label_ids)["macro_f1"]
              for d in (written, real)]
        rows.append((name, m.runtime, rate, *f1))
        print(f"  {name}: {rate:.1f} msg/s", flush=True)
    os.environ.pop("FRICTION_RUNTIME", None)
    refresh_settings()
    base = rows[0]
    print(f"\n{cpu_flags()}; {len(os.sched_getaffinity(0))} core(s); traffic {len(traffic)} messages")
    print(f"{'option':<24} {'runtime':<11} {'msg/s':>7} {'speed-up':>8} {'written F1':>11} {'real F1':>8}  verdict")
    verdicts = {}
    for name, runtime, rate, fw, fr in rows:
        ok = abs(fw - base[3]) <= 0.005 and abs(fr - base[4]) <= 0.005
        verdicts[name] = ok
        print(f"{name:<24} {runtime:<11} {rate:>7.1f} {rate / base[2]:>7.2f}x {fw:>11.4f} {fr:>8.4f}  "
              f"{'baseline' if name == base[0] else ('within 0.5 pt on both' if ok else 'rejected')}")
    if args.write:
        from friction.model.pipeline import FrictionPipeline

        pipe = FrictionPipeline.from_disk(args.model, precision="fp32", exact=True)
        inference = pipe.classifier.inference_
        inference["onnx_int8"] = bool(verdicts.get("onnx int8", inference.get("onnx_int8", False)))
        int8 = inference["int8"] = bool(verdicts["torch int8 attention"])
        # options were judged alone; a budget is kept only if it also holds beside the int8 kept
        windows_ok = verdicts[f"torch fp32, {args.windows} windows"] and (
            not int8 or verdicts[f"torch int8 attention, {args.windows} windows"])
        pipe.classifier.windows_per_message = args.windows if windows_ok else None
        pipe.to_disk(args.model)
        print(f"recorded in {args.model}/config.json: {pipe.classifier.inference_settings()}")


if __name__ == "__main__":
    main()
