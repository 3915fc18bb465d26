"""The shipped corpus follows the label guide, meets its floors, and splits by organisation."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from friction.corpus import load_corpus
from friction.labels import DEFAULT_LABEL_IDS, parse_labels

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "train"
ROUND3 = CORPUS.parent / "round3"  # a later writing round, kept apart from what the shipped model trained on


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(CORPUS)


def test_every_label_id_is_in_the_taxonomy(corpus):
    taxonomy = Path(__file__).resolve().parents[2] / "shared" / "taxonomy.md"
    if taxonomy.exists():  # the guide itself, when the shared folder is beside the repo
        text = taxonomy.read_text()
        assert all(f"`{lid}`" in text for lid in DEFAULT_LABEL_IDS)
    for f in [*CORPUS.glob("*.jsonl"), *ROUND3.glob("*.jsonl")]:
        for n, line in enumerate(f.open(), 1):
            row = json.loads(line)
            assert set(parse_labels(row["labels"])) <= set(DEFAULT_LABEL_IDS), f"{f.name}:{n}"
            assert row["channel"] in ("email", "chat", "meeting"), f"{f.name}:{n}"
            assert row["text"].strip(), f"{f.name}:{n}"
            assert not (row["hard_negative"] and parse_labels(row["labels"])), f"{f.name}:{n}: hard negative with labels"


def test_floors(corpus):
    counts = collections.Counter(lab for labs in corpus["label_list"] for lab in labs)
    n_labels = corpus["label_list"].str.len()
    assert len(corpus) >= 2400
    assert all(counts[lid] >= 180 for lid in DEFAULT_LABEL_IDS), counts
    assert (n_labels == 0).sum() >= 1100
    assert corpus["hard_negative"].sum() >= 450
    assert (n_labels >= 2).sum() >= 300
    share = corpus["channel"].value_counts(normalize=True)
    assert share["email"] >= 0.35 and share["chat"] >= 0.35 and share["meeting"] >= 0.20
    assert corpus["org"].nunique() >= 10
    assert corpus["id"].is_unique


def test_splits_are_disjoint_by_organisation_and_near_70_15_15(corpus):
    splits = json.loads((CORPUS / "splits.json").read_text())
    orgs = [set(splits[s]) for s in ("train", "dev", "test")]
    assert not (orgs[0] & orgs[1]) and not (orgs[0] & orgs[2]) and not (orgs[1] & orgs[2])
    assert set(corpus["org"]) == orgs[0] | orgs[1] | orgs[2]  # every organisation has a split
    share = corpus["split"].value_counts(normalize=True)
    assert 0.65 <= share["train"] <= 0.75 and 0.10 <= share["dev"] <= 0.20 and 0.10 <= share["test"] <= 0.20
    for split, g in corpus.groupby("split"):
        counts = collections.Counter(lab for labs in g["label_list"] for lab in labs)
        assert all(counts[lid] >= 25 for lid in DEFAULT_LABEL_IDS), (split, counts)


def test_a_later_round_adds_organisations_of_its_own_with_every_label(corpus):
    from friction.corpus import load_corpora

    load_corpora([CORPUS, ROUND3])  # refuses an id that is in both
    new = load_corpus(ROUND3)
    assert len(new) >= 1200 and not set(new["org"]) & set(corpus["org"])
    assert set(new["split"]) == {"train", "dev"}  # every organisation is in its splits file; the test split is untouched
    counts = collections.Counter(lab for labs in new["label_list"] for lab in labs)
    assert all(counts[lid] >= 100 for lid in DEFAULT_LABEL_IDS), counts
    assert 0.4 <= (new["label_list"].str.len() == 0).mean() <= 0.6 and new["hard_negative"].sum() >= 200


def test_no_near_duplicates():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from friction.corpus import load_corpora
    from friction.ingest.clean import clean_email_body

    corpus = load_corpora([CORPUS, ROUND3])  # within each round and across them
    texts = [clean_email_body(t) if c == "email" else t for t, c in zip(corpus["text"], corpus["channel"])]
    m = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    sims = (m @ m.T).tocoo()
    pairs = [(i, j, v) for i, j, v in zip(sims.row, sims.col, sims.data) if i < j and v > 0.8]
    assert pairs == []
