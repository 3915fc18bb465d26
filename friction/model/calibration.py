"""Calibration on held-out data: Platt scaling per label, then each label's F1-best threshold.
Shared by `FrictionClassifier.calibrate` and the experiments that compare threshold rules on
cached logits, so both search the same way."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def platt_fit(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(n_labels, 2) slope and intercept per label; (1, 0) for a label dev cannot fit (one class)."""
    from sklearn.linear_model import LogisticRegression

    calib = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (logits.shape[1], 1))
    for i in range(logits.shape[1]):
        if y[:, i].min() == y[:, i].max():
            continue
        lr = LogisticRegression(C=100.0, max_iter=1000).fit(logits[:, [i]], y[:, i])
        calib[i] = [lr.coef_[0, 0], lr.intercept_[0]]
    return calib


def platt_apply(logits: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """Calibrated probabilities from raw logits."""
    return 1.0 / (1.0 + np.exp(-(logits * calib[:, 0] + calib[:, 1])))


def f1_thresholds(proba: np.ndarray, y: np.ndarray, groups: Sequence[str] | None = None,
                  grid: np.ndarray = np.arange(0.10, 0.91, 0.025), default: float = 0.5) -> np.ndarray:
    """The F1-best threshold per label on held-out scores. With `groups` (one name per row, e.g.
    the world a dev message comes from), each threshold maximises the mean of the groups' F1 for
    that label (groups without a positive of it sit out), so a small group with a realistic base
    rate weighs as much as a large half-friction one. Labels without positives keep `default`."""
    y = np.asarray(y).astype(bool)
    groups = np.asarray(groups) if groups is not None else np.zeros(len(y), dtype=int)
    out = np.full(y.shape[1], default, dtype=np.float32)
    for i in range(y.shape[1]):
        parts = [g == groups for g in np.unique(groups) if y[g == groups, i].any()]
        if not parts:
            continue
        best, best_t = -1.0, default
        for t in grid:
            pred = proba[:, i] >= t
            f1 = np.mean([2 * float((pred[m] & y[m, i]).sum()) / max(1.0, pred[m].sum() + y[m, i].sum())
                          for m in parts])
            if f1 > best + 1e-9:
                best, best_t = f1, float(t)
        out[i] = best_t
    return out
