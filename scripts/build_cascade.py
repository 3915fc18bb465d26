"""Add the fast path to a trained model folder and measure it.

    python scripts/build_cascade.py [models/default]

1. The screen (friction/model/screen.py) is fitted on the corpus train split; its threshold is the
   highest that still passes --recall (98%) of the dev split's friction messages to the transformer.
2. Cheaper transformers: bf16 weights (native on AMX / AVX512-BF16 CPUs) and int8 dynamic
   quantisation are each kept only if macro-F1 moves by at most 0.5 point (recorded in config.json
   "inference": {"precision": "auto" | "fp32", "int8": bool}). ONNX Runtime is compared by
   scripts/experiments/compare_runtimes.py.
3. Test-split figures and throughput on realistic traffic (the demo company's messages, ~94%
   neutral) are written to the folder's metrics.json under "fast path". Every speed-up is
   against the full fp32 model, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def realistic_texts(n: int = 3000) -> list[str]:
    from friction.ingest import read_all

    df = read_all([str(ROOT / "corpora" / "demo")])
    return df["text"].sample(min(n, len(df)), random_state=0).tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(ROOT / "models" / "default"))
    ap.add_argument("--recall", type=float, default=0.98)
    ap.add_argument("--C", type=float, default=16.0, help="the screen's inverse regularisation")
    ap.add_argument("--check-split", choices=["dev", "test"], default="dev",
                    help="where the bf16 and int8 checks are made: dev, unless the model was trained on dev (then test)")
    args = ap.parse_args()

    from friction.corpus import label_matrix, load_corpus
    from friction.model import label_messages
    from friction.model.classifier import FrictionClassifier
    from friction.model.evaluation import score_model
    from friction.model.metrics import evaluate
    from friction.model.screen import FrictionScreen

    path = Path(args.model)
    df = load_corpus(ROOT / "corpora" / "train")
    train, dev, test = (df[df["split"] == s] for s in ("train", "dev", "test"))
    screen = FrictionScreen(C=args.C).fit(train["text"].tolist(), (train["label_list"].str.len() > 0).to_numpy())
    p_dev = screen.predict_proba(dev["text"].tolist())
    pos = (dev["label_list"].str.len() > 0).to_numpy()
    ok = [t for t in np.round(np.arange(0.01, 0.99, 0.01), 2) if (p_dev[pos] >= t).mean() >= args.recall]
    screen.threshold_ = float(max(ok)) if ok else 0.0
    screen.tuning_ = {"dev_recall_target": args.recall, "dev_recall": float((p_dev[pos] >= screen.threshold_).mean()),
                      "dev_pass_rate_none": float((p_dev[~pos] >= screen.threshold_).mean())}
    screen.save(path / "screen")
    print(f"screen threshold {screen.threshold_:.2f}: {screen.tuning_}")

    cfg = json.loads((path / "config.json").read_text())
    inference = cfg.setdefault("inference", {})
    inference.update({"int8": False, "precision": "fp32"})
    (path / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    fp32 = FrictionClassifier.load(path)
    bf16 = FrictionClassifier.load(path, precision="bf16")
    int8 = FrictionClassifier.load(path).quantize()
    check = dev if args.check_split == "dev" else test
    f1 = {name: score_model(m, check)["macro_f1"] for name, m in (("fp32", fp32), ("bf16", bf16), ("int8", int8))}
    keep = {name: abs(f1[name] - f1["fp32"]) <= 0.005 for name in ("bf16", "int8")}
    for name in ("bf16", "int8"):
        print(f"{args.check_split} macro-F1 fp32 {f1['fp32']:.4f}, {name} {f1[name]:.4f} -> "
              f"{'kept' if keep[name] else 'dropped'}")

    texts = realistic_texts()
    figures = {"screen": screen.tuning_ | {"threshold": screen.threshold_},
               "precision_check": {"split": args.check_split, **f1}, "bf16_kept": keep["bf16"],
               "int8_kept": keep["int8"]}
    y_test = label_matrix(test["label_list"], fp32.label_ids)
    rows = []
    for name, model, cascade in (("full fp32", fp32, False), ("full bf16", bf16, False), ("full int8", int8, False),
                                 ("cascade fp32", fp32, True), ("cascade bf16", bf16, True),
                                 ("cascade int8", int8, True)):
        model.screen_ = screen
        label_messages(model, __import__("pandas").DataFrame({"text": texts[:200]}), with_evidence=False)  # warm up
        t0 = time.perf_counter()
        out = label_messages(model, __import__("pandas").DataFrame({"text": texts}), with_evidence=False, cascade=cascade)
        rate = len(texts) / (time.perf_counter() - t0)
        lab = label_messages(model, test[["text"]].reset_index(drop=True), with_evidence=False, cascade=cascade)
        pred = lab[[f"flag_{lid}" for lid in model.label_ids]].to_numpy().astype(int)
        res = evaluate(y_test, pred, model.label_ids, hard_negative=test["hard_negative"].to_numpy())
        passed = float((out["stage"] == "model").mean())
        rows.append((name, res["macro_f1"], res["fpr_none"], rate, passed))
        figures[name] = {"test_macro_f1": res["macro_f1"], "test_fpr_none": res["fpr_none"],
                         "messages_per_s_realistic": round(rate, 1), "passed_to_transformer": round(passed, 4)}
    base = rows[0][3]
    print(f"{'':<14} {'test macro-F1':>13} {'fpr none':>9} {'msg/s (demo)':>13} {'speed-up':>9} {'to transformer':>15}")
    for name, test_f1, fpr, rate, passed in rows:
        print(f"{name:<14} {test_f1:>13.4f} {fpr:>9.3f} {rate:>13.1f} {rate / base:>8.1f}x {passed:>14.1%}")
    inference.update({"int8": keep["int8"] and not keep["bf16"], "precision": "auto" if keep["bf16"] else "fp32"})
    (path / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    metrics = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").exists() else {}
    metrics["fast path"] = figures
    (path / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
