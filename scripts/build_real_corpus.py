#!/usr/bin/env python
"""Fold the annotators' readings into corpora/real/labels.csv and measure their agreement.

    python scripts/build_real_corpus.py --annot /work/annot            # labels.csv + agreement.json
    python scripts/build_real_corpus.py --annot /work/annot --queue    # also the adjudication queue

Every message was read by one annotator; a stratified 1,599 by a second, blind (other batches, other
sessions). Cohen's kappa per label compares the two readings of those messages. Where they differ,
an adjudicator reads the message, both readings and the guide, and decides (`adjudicated.jsonl` in
the annotation folder); until then the first reading stands. The repository keeps pointers,
labels and annotator ids only: no text, no notes (they may quote the message).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from friction.labels import DEFAULT_LABEL_IDS  # noqa: E402
from friction.realtext import pointer  # noqa: E402


def kappa(a: np.ndarray, b: np.ndarray) -> float | None:
    """Cohen's kappa of two 0/1 vectors (None when both readings give one value throughout)."""
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return None
    return round(float(cohen_kappa_score(a, b)), 3)


def readings(annot: Path) -> pd.DataFrame:
    """One row per (message, reading): the last line an annotator sent for an item wins."""
    manifest = pd.read_csv(annot / "manifest.csv")
    rows = []
    for f in sorted(glob.glob(str(annot / "out" / "batch_*.jsonl"))):
        batch = Path(f).stem
        for line in open(f, encoding="utf-8"):
            r = json.loads(line)
            rows.append({"batch": batch, "key": r["key"], "labels": r["labels"], "annotator": r["annotator"],
                         "unclear": r.get("note", "").upper().startswith("UNCLEAR")})
    df = pd.DataFrame(rows).drop_duplicates(["batch", "key"], keep="last")
    return df.merge(manifest, on=["key", "batch"], how="inner")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--annot", required=True, help="the annotation folder (outside the repository)")
    ap.add_argument("--queue", action="store_true", help="write the adjudication queue for disagreements")
    args = ap.parse_args()
    annot = Path(args.annot)
    sample = pd.read_csv(ROOT / "corpora" / "real" / "sample.csv", dtype={"text_sha1": str})
    r = readings(annot)
    first = r[r.reading == 1].set_index("key")
    second = r[r.reading == 2].set_index("key")
    both = first.add_suffix("_1").join(second.add_suffix("_2"), how="inner")

    def vec(cells, lid):
        return np.array([lid in str(c).split(";") for c in cells], dtype=int)

    agree = {"n_double": int(len(both)), "per_label": {}}
    for lid in DEFAULT_LABEL_IDS:
        a, b = vec(both.labels_1, lid), vec(both.labels_2, lid)
        agree["per_label"][lid] = {"kappa": kappa(a, b), "reading_1": int(a.sum()), "reading_2": int(b.sum()),
                                   "both": int((a & b).sum())}
    a1, a2 = (both.labels_1 != "").astype(int).to_numpy(), (both.labels_2 != "").astype(int).to_numpy()
    agree["any_friction"] = {"kappa": kappa(a1, a2), "reading_1": int(a1.sum()), "reading_2": int(a2.sum()),
                             "both": int((a1 & a2).sum())}
    agree["exact_same_labels"] = round(float((both.labels_1 == both.labels_2).mean()), 3) if len(both) else None
    disagree = both[both.labels_1 != both.labels_2]

    adj_file = annot / "adjudicated.jsonl"
    adjudicated = {}
    if adj_file.exists():
        for line in open(adj_file, encoding="utf-8"):
            d = json.loads(line)
            adjudicated[d["key"]] = d
    agree["disagreements"] = int(len(disagree))
    agree["adjudicated"] = int(sum(k in adjudicated for k in disagree.index))
    if adjudicated:
        fin = [adjudicated[k]["labels"] for k in disagree.index if k in adjudicated]
        agree["adjudication_sided_with"] = {
            "reading_1": int(sum(f == l1 for f, l1 in zip(fin, disagree.labels_1[disagree.index.isin(adjudicated)]))),
            "reading_2": int(sum(f == l2 for f, l2 in zip(fin, disagree.labels_2[disagree.index.isin(adjudicated)])))}

    out = first[["labels", "annotator", "unclear"]].rename(columns={"labels": "labels_1", "annotator": "annotator_1",
                                                                     "unclear": "unclear_1"})
    out = out.join(second[["labels", "annotator"]].rename(columns={"labels": "labels_2", "annotator": "annotator_2"}))
    out["labels"] = out["labels_1"]
    out["adjudicator"] = ""
    for k, d in adjudicated.items():
        if k in out.index:
            out.at[k, "labels"] = d["labels"]
            out.at[k, "adjudicator"] = d["adjudicator"]
    out = out.reset_index()
    out.insert(0, "pointer", out.pop("key").map(pointer))
    out = sample.merge(out, on="pointer", how="inner")
    cols = ["pointer", "source", "community", "split", "channel", "stratum", "text_sha1", "labels",
            "labels_1", "annotator_1", "labels_2", "annotator_2", "adjudicator", "unclear_1"]
    out[cols].sort_values("pointer").to_csv(ROOT / "corpora" / "real" / "labels.csv", index=False)
    pos = out["labels"].fillna("") != ""
    agree["counts"] = {
        "labelled": int(len(out)), "any_friction": int(pos.sum()),
        "by_label": {lid: int(out["labels"].fillna("").str.split(";").map(lambda x: lid in x).sum())
                     for lid in DEFAULT_LABEL_IDS},
        "random_stratum_base_rate": round(float(pos[out.stratum == "random"].mean()), 4),
        "by_source": {s: {"n": int((out.source == s).sum()), "friction": int(pos[out.source == s].sum())}
                      for s in sorted(out.source.unique())},
        "by_split": {s: {"n": int((out.split == s).sum()), "friction": int(pos[out.split == s].sum())}
                     for s in ("train", "dev", "test")},
        "by_stratum": {s: {"n": int((out.stratum == s).sum()), "friction": int(pos[out.stratum == s].sum())}
                       for s in sorted(out.stratum.unique())},
        "marked_unclear": int(out["unclear_1"].fillna(False).astype(bool).sum())}
    (ROOT / "corpora" / "real" / "agreement.json").write_text(json.dumps(agree, indent=1) + "\n")
    print(json.dumps(agree, indent=1))
    if args.queue:
        texts = {}
        for f in glob.glob(str(annot / "batches" / "batch_*.jsonl")):
            for line in open(f, encoding="utf-8"):
                d = json.loads(line)
                texts[d["key"]] = d
        with open(annot / "adjudicate.jsonl", "w", encoding="utf-8") as f:
            for k, row in disagree.iterrows():
                if k not in adjudicated:
                    f.write(json.dumps({"key": k, "channel": texts[k]["channel"], "text": texts[k]["text"],
                                        "reading_a": row.labels_1 or "none", "reading_b": row.labels_2 or "none"},
                                       ensure_ascii=False) + "\n")
        print(f"adjudication queue: {len(disagree) - agree['adjudicated']} messages -> {annot / 'adjudicate.jsonl'}")


if __name__ == "__main__":
    main()
