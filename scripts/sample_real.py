#!/usr/bin/env python
"""Draw the messages of the real-text pool that annotators label (corpora/real/).

    python scripts/sample_real.py --out /work/annot          # batches with text: OUTSIDE the repo

Real friction is rare, so most strata are drawn on purpose, and one random stratum per source keeps
the natural base rate measurable:
  random      uniform over each source (chat and meeting turns of at least 4 words)
  model       the shipped model's most confident flags per source (a candidate signal only)
  premo_neg   PR comments the PRemo raters called negative (emotion, not our labels)
  heated      kernel-list replies in threads of 6+ messages
  cue         messages with words of complaint ("again", "still no", "nobody told", "your fault", ...)
A stratum only chooses what is read; every label comes from an annotator reading the message.
The strata of every key go to corpora/real/sample.csv (keys only, no text), so figures per stratum
and the random base rate can be recomputed. Batches mix sources and strata, so an annotator cannot
tell why a message was drawn; the double-annotated subset is spread over other batches.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from friction.model import default_model_path  # noqa: E402
from friction.model.classifier import FrictionClassifier  # noqa: E402
from friction.realtext import pointer, public_community, read_pool, text_hash  # noqa: E402

SEED = 20261207
RANDOM = {"enron": 800, "kernel": 450, "slack": 650, "icsi": 450, "committee": 350, "premo": 250}
MODEL = {"enron": 450, "kernel": 300, "slack": 300, "icsi": 200, "committee": 200, "premo": 150}
SCORED = {"enron": 8000, "kernel": None, "slack": 9000, "icsi": 6000, "committee": None, "premo": None}
CUE = re.compile(r"\b(?:again|still (?:no|not|waiting)|nobody|no one|not my (?:job|problem)|your fault|blame"
                 r"|ridiculous|waste of|seriously\?|frustrat|annoy|ignored|never (?:got|heard|replied)"
                 r"|as I (?:said|already)|told you|why (?:did|didn't|would|on earth)|wtf|stupid|nonsense"
                 r"|rude|condescend|patroni[sz]|not acceptable|unacceptable|who (?:owns|decided|approved))\b", re.I)


def words(text: str) -> int:
    return len(text.split())


#: Round 2, after the first 1,600 readings showed a 2.9% base rate: where friction was found
#: (kernel lists 15%, committee 9%, cue 10%, heated 14%), read much more; chat and ICSI almost
#: never held any (0-1%), so little more of them.
ROUND2 = {"kernel": ("all", None), "committee": ("long", 2000), "enron": ("cue", 1200),
          "slack": ("cue", 400), "premo": ("random", 300), "icsi": ("cue", 100)}


def round2(pool: pd.DataFrame, taken: set[str]) -> dict[str, str]:
    """Keys of the second round -> stratum (`all`, `long` = turns of 40+ words, `cue`, `random`)."""
    picked: dict[str, str] = {}
    fresh = pool[~pool.key.isin(taken)]
    for src, (how, n) in ROUND2.items():
        part = fresh[fresh.source == src]
        if how == "long":
            part = part[part.text.map(words) >= 40]
        elif how == "cue":
            part = part[part.text.str.contains(CUE)]
        part = part if n is None or len(part) <= n else part.sample(n, random_state=SEED + 2)
        picked.update({k: ("kernel_all" if how == "all" else how if how != "random" else "random2")
                       for k in part.key})
    return picked


def write_batches(part: pd.DataFrame, out: Path, size: int, last: int) -> tuple[list[dict], int]:
    """Write `part` (key, channel, text, reading) as batch files numbered after `last`; returns
    the manifest rows and the last batch number."""
    rows = []
    for i in range(0, len(part), size):
        last += 1
        chunk, name = part.iloc[i:i + size], f"batch_{last:02d}"
        with open(out / "batches" / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for r in chunk.itertuples():
                f.write(json.dumps({"key": r.key, "channel": r.channel, "text": r.text}, ensure_ascii=False) + "\n")
        rows += [{"key": k, "batch": name, "reading": rd} for k, rd in zip(chunk.key, chunk.reading)]
    return rows, last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the batches (must be outside the repository)")
    ap.add_argument("--batch", type=int, default=400)
    ap.add_argument("--double", type=int, default=1600, help="messages read by two annotators")
    ap.add_argument("--round", type=int, default=1, choices=(1, 2, 3, 4, 5))
    ap.add_argument("--second", default=None, metavar="STRATUM=N,...",
                    help="a blind second reading of N messages per stratum of a later round, e.g. long4=300")
    args = ap.parse_args()
    out = Path(args.out).resolve()
    if ROOT in out.parents or out == ROOT:
        sys.exit(f"{out}: batches hold real text and must not be written inside the repository")
    rng = np.random.default_rng(SEED)
    pool = read_pool()
    long_enough = (pool["channel"] == "email") | (pool["text"].map(words) >= 4)
    pool = pool[long_enough].reset_index(drop=True)
    if args.second:
        return write_second_reading(pool, out, args.batch, dict(
            (k, int(v)) for k, v in (part.split("=") for part in args.second.split(","))))
    if args.round >= 2:
        return write_next_round(pool, out, args.batch, args.round)

    # candidate scores from the shipped model, on a fixed random subset of the big sources
    scored = []
    for src, n in SCORED.items():
        part = pool[pool.source == src]
        scored.append(part if n is None or len(part) <= n else part.sample(n, random_state=SEED))
    scored = pd.concat(scored)
    model = FrictionClassifier.load(default_model_path())
    proba = model.predict_proba(scored["text"].tolist())
    pool["model_score"] = np.nan
    pool.loc[scored.index, "model_score"] = (proba / model.thresholds_).max(axis=1)

    picked: dict[str, str] = {}

    def take(keys, stratum: str) -> None:
        for k in keys:
            picked.setdefault(k, stratum)

    for src, n in RANDOM.items():
        part = pool[pool.source == src]
        take(part.sample(min(n, len(part)), random_state=SEED)["key"], "random")
    for src, n in MODEL.items():
        part = pool[(pool.source == src) & (pool.model_score >= 1.0) & ~pool.key.isin(picked)]
        part = part.sort_values("model_score", ascending=False).head(n * 2)
        take(part.sample(min(n, len(part)), random_state=SEED)["key"], "model")
    neg = pool[(pool.source == "premo") & (pool.polarity == "negative") & ~pool.key.isin(picked)]
    take(neg.sample(min(380, len(neg)), random_state=SEED)["key"], "premo_neg")
    ker = pool[(pool.source == "kernel") & ~pool.key.isin(picked)]
    big = ker.groupby("thread")["key"].transform("size") >= 6
    heated = ker[big & ker["is_reply"].astype(bool)]
    take(heated.sample(min(350, len(heated)), random_state=SEED)["key"], "heated")
    cue = pool[pool.text.str.contains(CUE) & ~pool.key.isin(picked)]
    per_src = {"enron": 200, "kernel": 120, "slack": 250, "icsi": 120, "committee": 120, "premo": 60}
    for src, n in per_src.items():
        part = cue[cue.source == src]
        take(part.sample(min(n, len(part)), random_state=SEED)["key"], "cue")

    sample = pool[pool.key.isin(picked)].copy()
    sample["stratum"] = sample["key"].map(picked)
    sample["text_sha1"] = sample["text"].map(text_hash)
    sample = sample.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    double = set(sample.groupby("stratum", group_keys=False)
                 .apply(lambda g: g.sample(frac=min(1.0, args.double / len(sample)), random_state=SEED))["key"])
    # first reading: every message; second reading: the double subset, in different batches
    first = sample.assign(reading=1)
    second = sample[sample.key.isin(double)].assign(reading=2)
    second = second.sample(frac=1.0, random_state=SEED + 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batches").mkdir(exist_ok=True)
    manifest = []
    nb = 0
    for part in (first, second):
        rows, nb = write_batches(part, out, args.batch, nb)
        manifest += rows
    pd.DataFrame(manifest).to_csv(out / "manifest.csv", index=False)
    keep = sample[["key", "source", "community", "split", "channel", "stratum", "model_score", "text_sha1"]].copy()
    keep["double"] = keep.key.isin(double)
    keep["community"] = [public_community(s, c) for s, c in zip(keep.source, keep.community)]
    keep.insert(0, "pointer", keep.pop("key").map(pointer))
    keep.sort_values("pointer").to_csv(ROOT / "corpora" / "real" / "sample.csv", index=False, float_format="%.3f")
    print(json.dumps({"messages": len(sample), "double": len(double), "batches": nb,
                      "by_stratum": sample.stratum.value_counts().to_dict(),
                      "by_source": sample.source.value_counts().to_dict()}, indent=1))


def teacher_so_far():
    """TF-IDF + LR fitted on every message read so far, the written corpus included: it ranks
    unread messages for a later round (a candidate signal only; annotators give the labels)."""
    from friction.corpus import label_matrix, load_corpus
    from friction.labels import DEFAULT_LABEL_IDS
    from friction.model.baselines import TfidfBaseline

    read = load_corpus(ROOT / "corpora" / "real" / "labels.csv")
    written = load_corpus(ROOT / "corpora" / "train")
    both = pd.concat([read[["text", "label_list"]], written[["text", "label_list"]]])
    return TfidfBaseline().fit(both.text.tolist(), label_matrix(both.label_list, DEFAULT_LABEL_IDS))


def round3(pool: pd.DataFrame, taken: set[str]) -> dict[str, str]:
    """Round 3, for training positives: unread messages of the training communities ranked by a
    teacher (TF-IDF + LR fitted on every message read so far, written corpus included), the top
    3,000 (`teacher`), plus 400 at random from the same communities (`random3`)."""
    teacher = teacher_so_far()
    fresh = pool[~pool.key.isin(taken) & (pool.split == "train") & (pool.text.map(words) >= 6)]
    score = teacher.predict_proba(fresh.text.tolist()).max(axis=1)
    top = fresh.assign(score=score).sort_values("score", ascending=False).head(3000)
    rest = fresh[~fresh.key.isin(top.key)].sample(400, random_state=SEED + 4)
    return {**{k: "teacher" for k in top.key}, **{k: "random3" for k in rest.key}}


def committee_and_enron(pool: pd.DataFrame, taken: set[str], min_words: int, n_teacher: int, n_random: int,
                        seed: int, names: tuple[str, str, str]) -> dict[str, str]:
    """Unread training messages of the two sources the real test holds most friction from: every
    committee turn of `min_words`+ words, the `n_teacher` Enron mails a refitted teacher ranks
    highest, and `n_random` more of both at random; strata named `names` in that order."""
    fresh = pool[~pool.key.isin(taken) & (pool.split == "train") & (pool.text.map(words) >= 6)]
    committee = fresh[(fresh.source == "committee") & (fresh.text.map(words) >= min_words)]
    enron = fresh[fresh.source == "enron"]
    score = teacher_so_far().predict_proba(enron.text.tolist()).max(axis=1)
    top = enron.assign(score=score).sort_values("score", ascending=False).head(n_teacher)
    rest = pd.concat([committee, top]).key
    rand = fresh[fresh.source.isin(["enron", "committee"]) & ~fresh.key.isin(rest)].sample(n_random, random_state=seed)
    return {**{k: names[0] for k in committee.key}, **{k: names[1] for k in top.key},
            **{k: names[2] for k in rand.key}}


def round4(pool: pd.DataFrame, taken: set[str]) -> dict[str, str]:
    """Round 4, for positives of the kinds the real test holds most (committee turns, Enron mail,
    together 74% of its friction) while training had fewest: every unread committee turn of 40+
    words in training meetings (`long4`; long turns held friction at 13% in round 2), the 1,200
    unread Enron training messages a refitted teacher ranks highest (`teacher4`; 9% in round 3),
    and 200 at random from both (`random4`)."""
    return committee_and_enron(pool, taken, 40, 1200, 200, SEED + 5, ("long4", "teacher4", "random4"))


def round5(pool: pd.DataFrame, taken: set[str]) -> dict[str, str]:
    """Round 5, the last training turns of the kind the real test holds most: every unread
    committee turn of 12-39 words in training meetings (`short5`; random committee turns held
    friction at 7%, long ones 13-17%; the 40+ ones were all read in round 4), the next 600 Enron
    training mails a teacher refitted with round 4 ranks highest (`teacher5`), and 150 at random
    from both (`random5`)."""
    return committee_and_enron(pool, taken, 12, 600, 150, SEED + 6, ("short5", "teacher5", "random5"))


def append_batches(part: pd.DataFrame, out: Path, size: int) -> int:
    """Write `part` as batches after the last ones and add them to the manifest; returns the
    last batch number."""
    manifest = pd.read_csv(out / "manifest.csv")
    rows, last = write_batches(part, out, size, int(manifest.batch.str[-2:].astype(int).max()))
    pd.concat([manifest, pd.DataFrame(rows)]).to_csv(out / "manifest.csv", index=False)
    return last


def write_next_round(pool: pd.DataFrame, out: Path, batch: int, rnd: int) -> None:
    """Append a later round to the sample and write its batches after the last ones (read once each)."""
    sample_csv = ROOT / "corpora" / "real" / "sample.csv"
    before = pd.read_csv(sample_csv)
    pool = pool.assign(pointer=pool.key.map(pointer))
    taken = set(pool.key[pool.pointer.isin(before.pointer)])
    picked = {2: round2, 3: round3, 4: round4, 5: round5}[rnd](pool, taken)
    new = pool[pool.key.isin(picked)].copy()
    new["stratum"] = new.key.map(picked)
    new = new.sample(frac=1.0, random_state=SEED + 3).reset_index(drop=True)
    nb = append_batches(new.assign(reading=1), out, batch)
    keep = pd.DataFrame({"pointer": new.pointer, "source": new.source,
                         "community": [public_community(s, c) for s, c in zip(new.source, new.community)],
                         "split": new.split, "channel": new.channel, "stratum": new.stratum,
                         "model_score": np.nan, "text_sha1": new.text.map(text_hash), "double": False})
    pd.concat([before, keep]).sort_values("pointer").to_csv(sample_csv, index=False, float_format="%.3f")
    print(json.dumps({f"round{rnd}_messages": len(new), "last_batch": nb,
                      "by_stratum": new.stratum.value_counts().to_dict(),
                      "by_source": new.source.value_counts().to_dict()}, indent=1))


def write_second_reading(pool: pd.DataFrame, out: Path, batch: int, per_stratum: dict[str, int]) -> None:
    """Batches for a blind second reading of messages already read once: N drawn at random per
    stratum (not by their first labels, so agreement is measured on what was drawn), read by
    sessions that did not read them first; marked `double` in sample.csv."""
    sample_csv = ROOT / "corpora" / "real" / "sample.csv"
    sample = pd.read_csv(sample_csv)
    pool = pool.assign(pointer=pool.key.map(pointer))
    manifest = pd.read_csv(out / "manifest.csv")
    once = manifest.groupby("key").reading.max() == 1
    cand = sample[~sample.double & sample.stratum.isin(per_stratum)].merge(pool[["pointer", "key", "channel", "text"]],
                                                                           on="pointer", suffixes=("", "_pool"))
    cand = cand[cand.key.isin(once[once].index)]
    picked = pd.concat([g.sample(min(len(g), per_stratum[s]), random_state=SEED + 7) for s, g in cand.groupby("stratum")])
    picked = picked.sample(frac=1.0, random_state=SEED + 8).reset_index(drop=True)
    nb = append_batches(picked[["key", "channel", "text"]].assign(reading=2), out, batch)
    sample.loc[sample.pointer.isin(picked.pointer), "double"] = True
    sample.to_csv(sample_csv, index=False, float_format="%.3f")
    print(json.dumps({"second_reading": len(picked), "last_batch": nb,
                      "by_stratum": picked.stratum.value_counts().to_dict()}, indent=1))


if __name__ == "__main__":
    main()
