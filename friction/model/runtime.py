"""Which runtime the transformer uses, chosen per CPU when a model loads.

- bf16 PyTorch where the CPU multiplies bf16 natively (AMX / AVX512-BF16), or when asked;
- else ONNX Runtime with int8 dynamic quantisation, when the folder allows it ("onnx_int8" in its
  inference settings, set because accuracy held) and the optional `onnxruntime` is installed;
- else fp32 PyTorch (or int8 PyTorch for folders that chose it).

$FRICTION_RUNTIME (torch | onnx) overrides the choice; $FRICTION_PRECISION (fp32 | bf16) forces
a precision (fp32 emulates an ordinary CPU on one with bf16). The ONNX graph is exported from
the folder's own weights on first use and cached (see `cache_dir`), never shipped in the folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from ..settings import current_settings
from .encoder import inference_dtype


def cache_dir() -> Path:
    """$FRICTION_CACHE, else ~/.cache/friction."""
    return Path(current_settings().cache or Path.home() / ".cache" / "friction")


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
        from onnxruntime.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return True


def choose(inference: dict, precision: str | None = None, exact: bool = False) -> str:
    """The runtime name for this CPU and these settings, without loading anything. `exact`: the
    folder's own weights in PyTorch, never an int8 copy (to train from, distil from or save)."""
    wanted = current_settings().runtime
    if inference_dtype(precision or inference.get("precision", "auto")) == torch.bfloat16 and wanted != "onnx":
        return "torch-bf16"
    if exact:
        return "torch-fp32"
    if wanted != "torch" and (inference.get("onnx_int8") or wanted == "onnx") and onnx_available():
        return "onnx-int8"
    if inference.get("int8") and current_settings().int8:
        return "torch-int8"
    return "torch-fp32"


def apply_runtime(model, path: Path, inference: dict, precision: str | None = None, exact: bool = False) -> str:
    """Set `model` (a FrictionClassifier on the CPU) up for the chosen runtime; returns its name."""
    name = choose(inference, precision, exact)
    if name == "torch-int8":
        model.quantize()
    elif name == "onnx-int8":
        model.set_precision("fp32")
        model.onnx_ = OnnxEncoder(model.encoder_, Path(path) / "encoder")
        model.runtime_ = name
    else:
        model.set_precision("bf16" if name == "torch-bf16" else "fp32")
    return name


class OnnxEncoder:
    """The encoder's token states from an int8 ONNX Runtime session: the same inputs and outputs
    as `Encoder.hidden`, so pooling, heads and evidence are unchanged."""

    def __init__(self, encoder, folder: Path):
        import onnxruntime as ort

        self.graph = self.graph_for(encoder, folder)
        opts = ort.SessionOptions()
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        opts.intra_op_num_threads, opts.inter_op_num_threads = max(1, torch.get_num_threads() or threads), 1
        self.session = ort.InferenceSession(str(self.graph), opts, providers=["CPUExecutionProvider"])

    def set_threads(self, n: int) -> None:
        """Rebuild the session with n threads (a pool worker's share of the cores)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = max(1, n), 1
        self.session = ort.InferenceSession(str(self.graph), opts, providers=["CPUExecutionProvider"])

    @staticmethod
    def graph_for(encoder, folder: Path) -> Path:
        """The cached int8 graph of these weights, exported and quantised when missing."""
        import onnxruntime
        from onnxruntime.quantization import QuantType, quantize_dynamic

        weights = Path(folder) / "model.safetensors"
        h = hashlib.sha256()
        with open(weights, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        h.update(onnxruntime.__version__.encode())
        target = cache_dir() / "onnx" / h.hexdigest()[:20]
        graph = target / "encoder.int8.onnx"
        if graph.exists():
            return graph
        target.mkdir(parents=True, exist_ok=True)
        fp32 = target / "encoder.fp32.onnx"
        sample = encoder.tokenizer(["a short example", "and another one"], padding=True, return_tensors="pt")
        module = _Hidden(encoder).eval()
        import warnings

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (sample["input_ids"], sample["attention_mask"]), str(fp32),
                              input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                              opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"},
                                            "hidden": {0: "batch", 1: "tokens"}})
            part = target / f"encoder.int8.onnx.{os.getpid()}"
            quantize_dynamic(str(fp32), str(part), weight_type=QuantType.QInt8)
        os.replace(part, graph)  # whole or absent: a second process may be exporting too
        fp32.unlink(missing_ok=True)
        return graph

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {"input_ids": input_ids.numpy().astype(np.int64),
                                      "attention_mask": attention_mask.numpy().astype(np.int64)})[0]
        return torch.from_numpy(out).float()


class _Hidden(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        return self.encoder.hidden(input_ids, attention_mask)
