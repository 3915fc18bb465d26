"""Print the corpus card's figures: counts per label, channel and split, and the blind
second-labelling agreement (Cohen's kappa per label, writer vs second annotator).

    python scripts/corpus_card.py                     # corpora/train
    python scripts/corpus_card.py corpora/round3 --agreement corpora/agreement/round3_second_annotator.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from friction.corpus import load_corpus
from friction.labels import DEFAULT_LABEL_IDS, parse_labels

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default=str(ROOT / "corpora" / "train"))
    ap.add_argument("--agreement", default=str(ROOT / "corpora" / "agreement" / "second_annotator.jsonl"),
                    help="the blind second readings of the corpus's messages")
    args = ap.parse_args()
    folder = Path(args.corpus)
    df = load_corpus(folder)
    n_labels = df["label_list"].str.len()
    print(f"messages: {len(df)}   none: {(n_labels == 0).sum()} (hard negatives {df.hard_negative.sum()})   "
          f"two or more labels: {(n_labels > 1).sum()}   organisations: {df.org.nunique()}")
    print("\nper label (positives):")
    counts = collections.Counter(lab for labs in df["label_list"] for lab in labs)
    for lid in DEFAULT_LABEL_IDS:
        by_split = {s: sum(lid in labs for labs in g["label_list"]) for s, g in df.groupby("split")}
        print(f"  {lid:<25} {counts[lid]:>5}   " + "  ".join(f"{s} {v}" for s, v in sorted(by_split.items())))
    print("\nper channel:", {k: f"{v} ({v / len(df):.1%})" for k, v in df["channel"].value_counts().items()})
    print("\nsplits (by organisation):")
    for s, g in df.groupby("split"):
        print(f"  {s:<6} {len(g):>5} messages ({len(g) / len(df):.0%}), none {(g.label_list.str.len() == 0).mean():.0%}: "
              + ", ".join(sorted(g.org.unique())))
    agree = Path(args.agreement)
    if agree.exists():
        rows = [json.loads(line) for line in agree.open()]
        final = df.set_index("id")["label_list"]
        print(f"\nblind second labelling: {len(rows)} random messages")
        print(f"  {'label':<25} {'kappa':>6} {'writer':>7} {'second':>7} {'final':>6}")
        for lid in DEFAULT_LABEL_IDS:
            a = [lid in parse_labels(r["labels_writer"]) for r in rows]
            b = [lid in parse_labels(r["labels_second"]) for r in rows]
            f = [lid in final[r["id"]] for r in rows]
            print(f"  {lid:<25} {cohen_kappa_score(a, b):>6.3f} {sum(a):>7} {sum(b):>7} {sum(f):>6}")
        a = [not parse_labels(r["labels_writer"]) for r in rows]
        b = [not parse_labels(r["labels_second"]) for r in rows]
        print(f"  {'none':<25} {cohen_kappa_score(a, b):>6.3f} {sum(a):>7} {sum(b):>7}")
        same = sum(set(parse_labels(r["labels_writer"])) == set(parse_labels(r["labels_second"])) for r in rows)
        print(f"  identical label sets: {same}/{len(rows)}; disagreements adjudicated: {len(rows) - same}")


if __name__ == "__main__":
    main()
