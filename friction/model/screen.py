"""The cascade's cheap first stage: hashed word n-grams, TF-IDF weights and one logistic
regression for "any friction at all". It reads tens of thousands of messages a second; only
messages it passes go to the transformer, which decides the labels. In a real company over 90% of
messages are neutral, so most never reach the expensive model.

Saved as safetensors + JSON next to the model (no vocabulary, no pickle: the hashing is stateless).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

N_FEATURES = 2**18


def fit_linear_screen(features, any_friction: np.ndarray, C: float,
                      sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(coef, intercept) of the class-balanced logistic regression every screen ends in."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, class_weight="balanced", max_iter=3000).fit(
        features, any_friction, sample_weight=sample_weight)
    return lr.coef_[0].astype(np.float32), float(lr.intercept_[0])


def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm=None,
                             lowercase=True, token_pattern=r"(?u)\b\w+\b|[?!]")


class FrictionScreen:
    """fit / predict_proba / passes / save / load, in the estimator shape."""

    def __init__(self, C: float = 4.0):
        self.C = C

    def fit(self, texts: Sequence[str], any_friction: np.ndarray,
            sample_weight: np.ndarray | None = None) -> "FrictionScreen":
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = _vectorizer().transform(list(texts))
        tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
        self.idf_ = tfidf.idf_.astype(np.float32)
        self.coef_, self.intercept_ = fit_linear_screen(self._features(counts), any_friction, self.C, sample_weight)
        self.threshold_ = 0.5
        return self

    def _features(self, counts):
        from sklearn.preprocessing import normalize

        x = counts.astype(np.float32)
        x.data = 1.0 + np.log(x.data)  # sublinear tf
        x = x.multiply(self.idf_).tocsr()
        return normalize(x)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(message carries any friction label), uncalibrated; shape (n,)."""
        x = self._features(_vectorizer().transform([t or "" for t in texts]))
        z = x @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def passes(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean mask of messages the transformer must read."""
        return self.predict_proba(texts) >= self.threshold_

    def tune(self, proba_screen: np.ndarray, full_pred: np.ndarray, y: np.ndarray, max_loss: float = 0.005) -> dict:
        """The highest threshold whose cascade macro-F1 on held-out data stays within `max_loss`
        of the full model's (the cascade can only drop positives, never add them)."""
        from .metrics import evaluate

        ids = [str(j) for j in range(y.shape[1])]
        full = evaluate(y, full_pred, ids)["macro_f1"]
        best = {"threshold": 0.0, "macro_f1": full, "pass_rate": 1.0}
        for t in np.round(np.arange(0.02, 0.96, 0.01), 2):
            mask = proba_screen >= t
            f1 = evaluate(y, full_pred * mask[:, None], ids)["macro_f1"]
            if f1 >= full - max_loss:
                best = {"threshold": float(t), "macro_f1": f1, "pass_rate": float(mask.mean())}
        self.threshold_ = best["threshold"]
        best["full_macro_f1"] = full
        return best

    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({"idf": self.idf_, "coef": self.coef_}, str(path / "screen.safetensors"))
        (path / "screen.json").write_text(json.dumps({
            "kind": "hashed word 1-2-gram TF-IDF + logistic regression (any friction)",
            "n_features": N_FEATURES, "intercept": self.intercept_, "threshold": self.threshold_, "C": self.C,
            **getattr(self, "tuning_", {})}, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path):
        """The screen saved in a model folder (this kind, the static-embedding or the
        convolutional one, as its screen.json says), or None when the folder has none."""
        from safetensors.numpy import load_file

        path = Path(path)
        if not (path / "screen.json").exists():
            return None
        cfg = json.loads((path / "screen.json").read_text())
        if cfg.get("kind", "").startswith("static"):
            from .static_screen import StaticScreen

            return StaticScreen.load(path, cfg)
        if cfg.get("kind", "").startswith("convolution"):
            from .conv_screen import ConvScreen

            return ConvScreen.load(path, cfg)
        arrays = load_file(str(path / "screen.safetensors"))
        s = cls(C=cfg.get("C", 4.0))
        s.idf_, s.coef_ = arrays["idf"], arrays["coef"]
        s.intercept_, s.threshold_ = float(cfg["intercept"]), float(cfg["threshold"])
        s.tuning_ = {k: v for k, v in cfg.items() if k not in ("intercept", "threshold", "C", "kind", "n_features")}
        return s
