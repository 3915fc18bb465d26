"""A static-embedding screen distilled from the model's own encoder (in the manner of Model2Vec):
every vocabulary token is read once by the fine-tuned encoder, alone, and its output vector kept
(reduced by PCA); a message is the IDF-weighted mean of its tokens' vectors, and one logistic
regression says "any friction at all". No transformer runs at inference: a tokenizer, a lookup
and a dot product, tens of thousands of messages a second.

It knows what the fine-tuned encoder learned about words, so it generalises past the exact
n-grams a TF-IDF screen needs. Saved as safetensors + JSON + the tokenizer (no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from .screen import fit_linear_screen

KIND = "static token embeddings from the fine-tuned encoder + logistic regression (any friction)"
MAX_TOKENS = 256


def token_vectors(encoder, dims: int = 64, batch: int = 1024) -> np.ndarray:
    """(vocab, dims) float32, fp16-exact: every token read alone by the encoder ([CLS] token
    [SEP]), its output vector kept, reduced by PCA. The static screens' shared starting point."""
    import torch
    from sklearn.decomposition import PCA

    tok = encoder.tokenizer
    n = tok.vocab_size
    vecs = np.zeros((n, encoder.dim), np.float32)
    device = next(encoder.model.parameters()).device
    with torch.inference_mode():
        for s in range(0, n, batch):
            ids = torch.arange(s, min(n, s + batch))
            inp = torch.stack([torch.full_like(ids, tok.cls_token_id), ids, torch.full_like(ids, tok.sep_token_id)], 1)
            inp = inp.to(device)
            vecs[s:s + len(ids)] = encoder.hidden(inp, torch.ones_like(inp))[:, 1].float().cpu().numpy()
    return PCA(dims, random_state=0).fit_transform(vecs).astype(np.float16).astype(np.float32)


class StaticScreen:
    """fit / predict_proba / passes / save / load, like FrictionScreen."""

    def __init__(self, C: float = 10.0, dims: int = 64):
        self.C, self.dims = C, dims

    @classmethod
    def from_encoder(cls, encoder, vectors: np.ndarray | None = None, C: float = 10.0, dims: int = 64) -> "StaticScreen":
        """Start from the encoder's static token vectors (`token_vectors`, computed when not given)."""
        screen = cls(C=C, dims=dims)
        screen.tokenizer_ = encoder.tokenizer
        screen.vectors_ = vectors if vectors is not None else token_vectors(encoder, dims)
        return screen

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer_([t or "" for t in texts], add_special_tokens=False, truncation=True,
                               max_length=MAX_TOKENS)["input_ids"]

    def _features(self, ids: list[list[int]]) -> np.ndarray:
        x = np.zeros((len(ids), self.vectors_.shape[1]), np.float32)
        for i, row in enumerate(ids):
            if row:
                w = self.idf_[row]
                x[i] = w @ self.vectors_[row] / w.sum()
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    def fit(self, texts: Sequence[str], any_friction: np.ndarray,
            sample_weight: np.ndarray | None = None) -> "StaticScreen":
        ids = self._ids(texts)
        df = np.zeros(len(self.vectors_))
        for row in ids:
            df[list(set(row))] += 1
        self.idf_ = (np.log((1 + len(ids)) / (1 + df)) + 1).astype(np.float32)
        self.coef_, self.intercept_ = fit_linear_screen(self._features(ids), any_friction, self.C, sample_weight)
        self.threshold_ = 0.5
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(message carries any friction label), uncalibrated; shape (n,)."""
        z = self._features(self._ids(texts)) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def passes(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean mask of messages the transformer must read."""
        return self.predict_proba(texts) >= self.threshold_

    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"vectors": self.vectors_.astype(np.float16), "idf": self.idf_, "coef": self.coef_},
                  str(path / "screen.safetensors"))
        self.tokenizer_.save_pretrained(path / "tokenizer")
        (path / "screen.json").write_text(json.dumps({
            "kind": KIND, "dims": self.dims, "intercept": self.intercept_, "threshold": self.threshold_,
            "C": self.C, **getattr(self, "tuning_", {})}, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path, cfg: dict) -> "StaticScreen":
        from safetensors.numpy import load_file
        from transformers import AutoTokenizer

        path = Path(path)
        arrays = load_file(str(path / "screen.safetensors"))
        s = cls(C=cfg.get("C", 10.0), dims=cfg.get("dims", 64))
        s.vectors_ = arrays["vectors"].astype(np.float32)
        s.idf_, s.coef_ = arrays["idf"], arrays["coef"]
        s.tokenizer_ = AutoTokenizer.from_pretrained(path / "tokenizer", local_files_only=True)
        s.intercept_, s.threshold_ = float(cfg["intercept"]), float(cfg["threshold"])
        s.tuning_ = {k: v for k, v in cfg.items() if k not in ("intercept", "threshold", "C", "kind", "dims")}
        return s
