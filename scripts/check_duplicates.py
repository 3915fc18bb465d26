"""Flag pairs of corpus messages that are too similar (near-duplicates, template-like rewrites).

    python scripts/check_duplicates.py corpora/train            # TF-IDF cosine > 0.8
    python scripts/check_duplicates.py corpora/train --minilm   # also MiniLM cosine > 0.92

Emails are compared on their new text only (quoted replies removed), since a reply that quotes
its parent is not a duplicate. Exits 1 when any pair is flagged.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def similar_pairs(texts: list[str], matrix, threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for every pair above threshold, from L2-normalised row vectors."""
    sims = matrix @ matrix.T
    sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
    np.fill_diagonal(sims, 0)
    i, j = np.where(np.triu(sims) > threshold)
    return [(int(a), int(b), float(sims[a, b])) for a, b in zip(i, j)]


def main() -> int:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from friction.corpus import load_corpus
    from friction.ingest.clean import clean_email_body

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", default="corpora/train")
    ap.add_argument("--tfidf", type=float, default=0.8)
    ap.add_argument("--minilm", action="store_true", help="also compare MiniLM embeddings")
    ap.add_argument("--minilm-threshold", type=float, default=0.92)
    args = ap.parse_args()
    df = load_corpus(args.corpus)
    texts = [clean_email_body(t) if c == "email" else t for t, c in zip(df["text"], df["channel"])]
    flagged = []
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    flagged += [("tfidf", *p) for p in similar_pairs(texts, vec, args.tfidf)]
    if args.minilm:
        from friction.model.encoder import Encoder

        emb = Encoder().encode(texts, normalize=True)
        flagged += [("minilm", *p) for p in similar_pairs(texts, emb, args.minilm_threshold)]
    for kind, i, j, s in sorted(flagged, key=lambda f: -f[3]):
        print(f"{kind} {s:.3f}  {df['id'].iat[i]}  <->  {df['id'].iat[j]}")
        print(f"    {texts[i][:150]!r}\n    {texts[j][:150]!r}")
    print(f"{len(df)} messages, {len(flagged)} pairs flagged", file=sys.stderr)
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
