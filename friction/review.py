"""Reviews from the report page: a reviewer marks each evidence item right, wrong (with the right
label) or not friction, and the page exports a CSV in the corpus format (id, text, labels, plus
model_label and verdict). `friction review` records it in the store, so the next report shows
the reviewed precision per label; `friction train` trains on the same file."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from .labels import parse_labels
from .tables import read_table

VERDICTS = ("right", "wrong", "not_friction")
COLUMNS = ("id", "text", "labels", "model_label", "verdict")


@dataclass
class ReviewFile:
    """The usable rows of a review CSV, and every skipped row counted by reason (one line each)."""
    rows: pd.DataFrame
    skipped: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def read_reviews(path: str, label_ids: Sequence[str], known_ids: set[str] | None = None) -> ReviewFile:
    """Read and check a review CSV. A file without the columns raises ValueError naming the file;
    a bad row (unknown verdict or label, a verdict that contradicts its labels, a message the
    store does not hold) is skipped with one line naming the file and row."""
    df = read_table(path)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not a review file (missing column(s) {', '.join(missing)})")
    df = df.fillna("").astype(str)
    allowed = set(label_ids)
    keep, out = [], ReviewFile(pd.DataFrame())
    for i, r in enumerate(df.to_dict("records"), start=2):  # row 1 is the header
        labels = parse_labels(r["labels"].lstrip("'"))
        reason = None
        if r["verdict"] not in VERDICTS:
            reason = f"unknown verdict {r['verdict']!r}"
        elif r["model_label"] not in allowed or any(lab not in allowed for lab in labels):
            reason = "unknown label"
        elif (r["verdict"] == "right" and labels != [r["model_label"]]) or (r["verdict"] == "not_friction" and labels) \
                or (r["verdict"] == "wrong" and (not labels or r["model_label"] in labels)):
            reason = "verdict and labels disagree"
        elif known_ids is not None and r["id"] not in known_ids:
            reason = "message not in the store"
        if reason:
            out.skipped[reason] += 1
            out.problems.append(f"{path} row {i}: {reason}; skipped")
            continue
        keep.append({"id": r["id"], "label": r["model_label"], "verdict": r["verdict"],
                     "reviewed_labels": ";".join(labels)})
    out.rows = pd.DataFrame(keep, columns=["id", "label", "verdict", "reviewed_labels"])
    return out


def review_ids(path: str) -> list[str]:
    """The message ids a review file names (to look up in the store in one query)."""
    df = read_table(path)
    return df["id"].fillna("").astype(str).tolist() if "id" in df.columns else []


def reviewed_precision(reviews: pd.DataFrame, label_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per label: how many of its evidence items were reviewed, and how many were right."""
    out = {}
    for lid in label_ids:
        r = reviews[reviews["label"] == lid]
        if len(r):
            out[lid] = {"reviewed": len(r), "right": int((r["verdict"] == "right").sum())}
    return out
