"""Which runtime should the transformer use? Test-split macro-F1 and messages/s on one core for
PyTorch fp32, bf16 and int8 dynamic quantisation, and ONNX Runtime fp32 and int8 (dynamic
quantisation of the exported graph), all measured in this one process.

    pip install -e ".[onnx]"          # onnx + onnxruntime, needed only for this comparison
    taskset -c 0 python scripts/experiments/compare_runtimes.py [models/default]

The rule (issue 6): a cheaper runtime is kept only if macro-F1 stays within 0.5 point of fp32.

One-off experiment. Decided: PyTorch bf16 where the CPU has native bf16, fp32 elsewhere; int8
(-2.5 points) and ONNX Runtime (slower than bf16 PyTorch) are not used (model card).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


class _Graph(torch.nn.Module):
    """Encoder + mean pooling + heads as one graph: token ids in, logits out."""

    def __init__(self, model):
        super().__init__()
        self.encoder, self.head = model.encoder_, model.head_

    def forward(self, input_ids, attention_mask):
        return self.head(self.encoder(input_ids, attention_mask))


def onnx_logits(model, session, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The same windows, batching and strongest-window pooling as FrictionClassifier._logits."""
    tok = model.encoder_.tokenizer
    out = np.zeros((len(texts), len(model.labels)), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for s in range(0, len(texts), batch_size):
        idx = order[s:s + batch_size]
        enc = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=model.max_length,
                  return_overflowing_tokens=True, stride=32, return_tensors="np")
        logits = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                    "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
        pooled = np.full((len(idx), logits.shape[1]), -np.inf, dtype=np.float32)
        np.maximum.at(pooled, enc["overflow_to_sample_mapping"], logits)
        out[idx] = pooled
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(ROOT / "models" / "default"))
    args = ap.parse_args()
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise SystemExit('ONNX Runtime is not installed: pip install -e ".[onnx]"')

    from friction.corpus import label_matrix, load_corpus
    from friction.model.classifier import FrictionClassifier
    from friction.model.metrics import evaluate

    corpus = load_corpus(ROOT / "corpora" / "train")
    test = corpus[corpus["split"] == "test"]
    texts = test["text"].tolist()
    fp32 = FrictionClassifier.load(args.model, precision="fp32")
    y = label_matrix(test["label_list"], fp32.label_ids)

    def score(name: str, logits_fn) -> tuple[str, float, float]:
        logits_fn(texts[:64])  # warm up
        t0 = time.perf_counter()
        logits = logits_fn(texts)
        rate = len(texts) / (time.perf_counter() - t0)
        pred = (fp32.calibrated(logits) >= fp32.thresholds_).astype(int)
        return name, evaluate(y, pred, fp32.label_ids)["macro_f1"], rate

    rows = [score("torch fp32", fp32.decision_function)]
    bf16 = FrictionClassifier.load(args.model, precision="bf16")
    rows.append(score("torch bf16", bf16.decision_function))
    int8 = FrictionClassifier.load(args.model, precision="fp32").quantize()
    rows.append(score("torch int8 dynamic", int8.decision_function))

    work = Path(tempfile.mkdtemp(prefix="friction-onnx-"))
    sample = fp32.encoder_.tokenizer(["a short example", "and another one"], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(_Graph(fp32).eval(), (sample["input_ids"], sample["attention_mask"]), str(work / "fp32.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}},
                          dynamo=False)
    quantize_dynamic(str(work / "fp32.onnx"), str(work / "int8.onnx"), weight_type=QuantType.QInt8)
    threads = len(__import__("os").sched_getaffinity(0))
    for name in ("fp32", "int8"):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        session = ort.InferenceSession(str(work / f"{name}.onnx"), opts, providers=["CPUExecutionProvider"])
        rows.append(score(f"onnxruntime {name}", lambda t, s=session: onnx_logits(fp32, s, t)))

    base_f1, base_rate = rows[0][1], rows[0][2]
    print(f"test split, {len(texts)} messages, {threads} thread(s)")
    print(f"{'runtime':<22} {'macro-F1':>9} {'change':>8} {'msg/s':>7} {'speed-up':>9}  verdict")
    for name, f1, rate in rows:
        verdict = "baseline" if name == "torch fp32" else ("within 0.5 pt" if abs(f1 - base_f1) <= 0.005 else "rejected")
        print(f"{name:<22} {f1:>9.4f} {100 * (f1 - base_f1):>+7.2f}p {rate:>7.1f} {rate / base_rate:>8.2f}x  {verdict}")


if __name__ == "__main__":
    main()
