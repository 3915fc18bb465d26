"""The real labelled corpus: pointers only in the repository, community-level splits, and a join
that gives back exactly the text the annotators read (skipped where ../shared is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from friction.labels import DEFAULT_LABEL_IDS
from friction.realtext import DEFAULT_POOL, pointer, public_community, split_of, text_hash

REAL = Path(__file__).resolve().parents[1] / "corpora" / "real"


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return pd.read_csv(REAL / "labels.csv", dtype=str, keep_default_na=False)


def test_label_file_holds_pointers_and_labels_only(labels):
    assert "text" not in labels.columns and "key" not in labels.columns
    assert labels["pointer"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert labels["pointer"].is_unique
    used = {lab for cell in labels["labels"] for lab in cell.split(";") if lab}
    assert used <= set(DEFAULT_LABEL_IDS)
    # mailbox owners are people: their communities are hashed
    enron = labels[labels.source == "enron"]
    assert enron["community"].str.fullmatch(r"mailbox-[0-9a-f]{8}").all()


def test_every_community_sits_in_one_split(labels):
    splits = labels.groupby(["source", "community"])["split"].nunique()
    kernel_threads = splits.index.get_level_values("source") == "kernel"
    assert (splits[~kernel_threads] == 1).all()  # the newer kernel list is split by thread instead
    assert set(labels[labels.source == "slack"].groupby("community")["split"].first()) == {"train", "dev", "test"}
    assert split_of("slack", "racket") == "test" and split_of("kernel", "ksummit-discuss") == "test"


def test_split_of_is_stable_and_pointer_is_a_hash():
    assert split_of("enron", "someone-x") == split_of("enron", "someone-x")
    assert pointer("enron:a_inbox_1") != pointer("enron:a_inbox_2")
    assert public_community("enron", "someone-x").startswith("mailbox-")
    assert public_community("kernel", "ksummit/<id@host>") == "ksummit"
    assert text_hash("abc") == text_hash("abc") != text_hash("abd")


def test_second_readings_and_agreement_are_recorded(labels):
    doubled = labels[labels["labels_2"].ne("") | labels["annotator_2"].ne("")]
    assert len(doubled) >= 1500
    assert (doubled["annotator_1"] != doubled["annotator_2"]).all()
    agree = json.loads((REAL / "agreement.json").read_text())
    assert agree["n_double"] == len(doubled)
    assert agree["any_friction"]["kappa"] is not None and agree["any_friction"]["kappa"] > 0.4


@pytest.mark.skipif(not DEFAULT_POOL.is_dir(), reason="the real-text pool (../shared/external_train) is absent")
def test_join_gives_back_the_text_that_was_read(labels):
    from friction.corpus import load_corpus

    df = load_corpus(REAL / "labels.csv")
    assert len(df) == len(labels)  # every pointer found, every text unchanged since it was read
    assert (df["text"].str.len() > 0).all()
    assert df["text"].map(text_hash).tolist() == df["text_sha1"].tolist()
    assert set(df["split"]) == {"train", "dev", "test"}
