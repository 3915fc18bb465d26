"""Multi-label metrics an HR reviewer cares about: per-label P/R/F1, macro/micro F1, false alarms
on neutral messages and on hard negatives, and expected calibration error."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, bins: int = 10) -> float:
    """ECE over every (message, label) score: mean |observed rate - mean score| across 10 equal bins."""
    p, t = proba.ravel(), y.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(t[m].mean() - p[m].mean())
    return float(ece)


def evaluate(y: np.ndarray, pred: np.ndarray, label_ids: Sequence[str], proba: np.ndarray | None = None,
             hard_negative: np.ndarray | None = None) -> dict:
    """A dict of figures; see `format_table` for how it is shown."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pred).astype(bool)
    per = {}
    for j, lid in enumerate(label_ids):
        tp = int((pred[:, j] & y[:, j]).sum())
        fp = int((pred[:, j] & ~y[:, j]).sum())
        fn = int((~pred[:, j] & y[:, j]).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        per[lid] = {"precision": round(p, 4), "recall": round(r, 4),
                    "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "support": int(y[:, j].sum())}
    tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
    none = ~y.any(1)
    out = {
        "n": int(len(y)),
        "per_label": per,
        "macro_f1": round(float(np.mean([v["f1"] for v in per.values()])), 4),
        "micro_f1": round(float(2 * tp / max(1, 2 * tp + fp + fn)), 4),
        "none_n": int(none.sum()),
        "fpr_none": round(float(pred[none].any(1).mean()) if none.any() else 0.0, 4),
    }
    # any friction: did the message get a label at all, whichever (what a reviewer sees first)
    ya, pa = y.any(1), pred.any(1)
    atp = int((ya & pa).sum())
    ap_, ar = atp / max(1, int(pa.sum())), atp / max(1, int(ya.sum()))
    out["any_friction"] = {"precision": round(ap_, 4), "recall": round(ar, 4),
                           "f1": round(2 * ap_ * ar / (ap_ + ar), 4) if ap_ + ar else 0.0, "support": int(ya.sum())}
    if hard_negative is not None:
        hn = np.asarray(hard_negative).astype(bool) & none
        out["hard_negative_n"] = int(hn.sum())
        out["fpr_hard_negative"] = round(float(pred[hn].any(1).mean()) if hn.any() else 0.0, 4)
    if proba is not None:
        out["ece"] = round(expected_calibration_error(y.astype(float), np.asarray(proba)), 4)
    return out


def format_table(results: dict[str, dict], label_ids: Sequence[str]) -> str:
    """One plain-text table: a row per label (F1 of every system), then the summary rows."""
    systems = list(results)
    w = max(24, *(len(s) for s in systems))
    head = f"{'':<26}" + "".join(f"{s[:w]:>{w}}" for s in systems)
    lines = [head, "-" * len(head)]
    main = results[systems[0]]
    lines.append(f"{'per label  (P / R / F1)':<26}" + "".join(f"{'':>{w}}" for _ in systems))
    for lid in label_ids:
        cells = []
        for s in systems:
            v = results[s]["per_label"][lid]
            cells.append(f"{v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f}".rjust(w))
        lines.append(f"  {lid:<24}" + "".join(cells))
    for key, name in (("macro_f1", "macro F1"), ("micro_f1", "micro F1"), ("fpr_none", "false alarms on none"),
                      ("fpr_hard_negative", "false alarms, hard neg."), ("ece", "ECE")):
        if key in main:
            lines.append(f"{name:<26}" + "".join(
                (f"{results[s][key]:.3f}" if key in results[s] else "-").rjust(w) for s in systems))
    lines.append(f"{'messages (none / hard neg.)':<26}" + f"{main['n']} ({main['none_n']} / {main.get('hard_negative_n', '-')})".rjust(w))
    return "\n".join(lines)
