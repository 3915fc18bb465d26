"""What a user would otherwise reach for, trained and scored in the same `evaluate` run:
keyword rules, TF-IDF + logistic regression, frozen MiniLM embeddings + logistic regression,
and zero-shot similarity to the label descriptions."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ..labels import Label

# Phrases a sensible analyst would grep for; deliberately generous.
KEYWORDS: dict[str, list[str]] = {
    "blame": [r"\bblame", r"\bfault\b", r"because (of )?(they|their|them|marketing|sales|ops|it|product|engineering)",
              r"dropped the ball", r"thanks to (them|their)", r"\bresponsible for (the|this) (miss|failure|delay)"],
    "budget_rivalry": [r"\bbudget", r"\bheadcount\b", r"\bfunding\b", r"\bwhy do they get\b", r"\bcut\b.*\b(our|my)\b",
                       r"\breqs?\b", r"\ballocation\b"],
    "goal_mismatch": [r"\bgoals?\b", r"\btargets?\b", r"\bkpis?\b", r"\bwho owns\b", r"\bowner(ship)?\b", r"\bmetrics?\b",
                      r"\bquota\b"],
    "communication_breakdown": [r"nobody told", r"no one told", r"\bnot informed\b", r"\bstill no (reply|response|answer)\b",
                                r"\bthird time\b", r"\bfound out\b", r"\bsilo", r"\bcommunicat", r"\bheads[- ]up\b",
                                r"\bwithout a word\b"],
    "role_confusion": [r"not (our|my) job", r"\bwhose job\b", r"\bwho (is supposed to|should)\b", r"\bour role\b",
                       r"\bpretty slides\b", r"\bjust (make|makes|do|does)\b", r"\bresponsibilit"],
    "culture_clash": [r"\btone\b", r"\brude\b", r"\bcondescend", r"\blecture\b", r"\battitude\b", r"\bpersonally\b",
                      r"\bdisrespect", r"\barrogan", r"\bculture\b"],
    "strategy_misalignment": [r"\bstrategy\b", r"\bstrategic\b", r"\bsame (accounts|customers|campaign)\b",
                              r"\bcontradict", r"\bduplicat", r"\bpriorit", r"\bmisalign", r"\bconflicting plans?\b"],
}


class KeywordBaseline:
    """A label fires when any of its phrases occurs (case-insensitive)."""

    def __init__(self, labels: Sequence[Label]):
        self.labels = list(labels)
        self.patterns = [re.compile("|".join(KEYWORDS.get(lab.id, [re.escape(lab.id.replace("_", " "))])), re.I)
                         for lab in self.labels]

    def fit(self, texts, y, dev=None) -> "KeywordBaseline":
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return np.array([[1.0 if p.search(t) else 0.0 for p in self.patterns] for t in texts])

    def predict(self, texts) -> np.ndarray:
        return self.predict_proba(texts).astype(np.int8)


def tune_thresholds(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The F1-best threshold per label on dev: the same courtesy our model gets."""
    out = np.full(proba.shape[1], 0.5)
    for j in range(proba.shape[1]):
        if y[:, j].max() == 0:
            continue
        best = -1.0
        for t in np.unique(np.round(proba[:, j], 3)):
            pred = proba[:, j] >= t
            f1 = 2 * (pred & (y[:, j] == 1)).sum() / max(1, pred.sum() + y[:, j].sum())
            if f1 > best:
                best, out[j] = f1, t
    return out


class _LinearOnFeatures:
    """One balanced logistic regression per label over some features; thresholds tuned on dev."""

    def features(self, texts, fit: bool = False) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, texts, y, dev=None):
        from sklearn.linear_model import LogisticRegression

        x = self.features(list(texts), fit=True)
        y = np.asarray(y)
        self.models_ = [LogisticRegression(C=self.C, class_weight="balanced", max_iter=3000).fit(x, y[:, j])
                        for j in range(y.shape[1])]
        self.thresholds_ = np.full(y.shape[1], 0.5)
        if dev is not None:
            self.thresholds_ = tune_thresholds(self.predict_proba(dev[0]), np.asarray(dev[1]))
        return self

    def predict_proba(self, texts) -> np.ndarray:
        x = self.features(list(texts))
        return np.column_stack([m.predict_proba(x)[:, 1] for m in self.models_])

    def predict(self, texts) -> np.ndarray:
        return (self.predict_proba(texts) >= self.thresholds_).astype(np.int8)


class TfidfBaseline(_LinearOnFeatures):
    """Word 1-2-grams + char 3-5-grams TF-IDF, logistic regression."""

    C = 4.0

    def features(self, texts, fit=False):
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        if fit:
            self.word_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
            self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True)
            return hstack([self.word_.fit_transform(texts), self.char_.fit_transform(texts)]).tocsr()
        return hstack([self.word_.transform(texts), self.char_.transform(texts)]).tocsr()


class FrozenEmbeddingBaseline(_LinearOnFeatures):
    """MiniLM sentence embeddings as they come (no fine-tuning), logistic regression."""

    C = 1.0

    def __init__(self, encoder=None):
        self.encoder = encoder

    def features(self, texts, fit=False):
        from .encoder import Encoder

        self.encoder = self.encoder or Encoder()
        return self.encoder.encode(texts, normalize=True)


class ZeroShotBaseline:
    """Cosine similarity between a message and each label's description; one global threshold
    chosen on dev (no other use of labelled data)."""

    def __init__(self, labels: Sequence[Label], encoder=None):
        self.labels = list(labels)
        self.encoder = encoder

    def fit(self, texts, y, dev=None) -> "ZeroShotBaseline":
        from .encoder import Encoder

        self.encoder = self.encoder or Encoder()
        prompts = [f"{lab.name}: {lab.description}" for lab in self.labels]
        self.label_emb_ = self.encoder.encode(prompts, normalize=True)
        self.threshold_ = 0.3
        if dev is not None:
            sims = self.predict_proba(dev[0])
            yd = np.asarray(dev[1])
            best = -1.0
            for t in np.arange(0.05, 0.8, 0.01):
                pred = sims >= t
                tp = (pred & (yd == 1)).sum(0)
                f1 = np.mean(2 * tp / np.maximum(1, pred.sum(0) + yd.sum(0)))
                if f1 > best:
                    best, self.threshold_ = f1, float(t)
        return self

    def predict_proba(self, texts) -> np.ndarray:
        emb = self.encoder.encode(list(texts), normalize=True)
        return np.clip(emb @ self.label_emb_.T, 0, 1)

    def predict(self, texts) -> np.ndarray:
        return (self.predict_proba(texts) >= self.threshold_).astype(np.int8)
