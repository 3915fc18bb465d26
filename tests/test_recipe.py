"""Training recipes: a soup ingredient's keys go over the recipe, and the soup `finish` makes
of identical ingredients is that model again, calibrated on dev and scored on every split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from friction.corpus import load_corpus
from friction.labels import DEFAULT_LABEL_IDS
from friction.model.classifier import FrictionClassifier
from friction.model import default_model_path
from friction.model.recipe import DEFAULTS, finish, load_recipe, with_overrides
from friction.shipped import CHECKOUT_ROOT


def test_an_ingredient_replaces_top_level_keys_and_merges_settings():
    recipe = {**DEFAULTS, "settings": dict(DEFAULTS["settings"])}
    out = with_overrides(recipe, {"real_positive_weight": 2.0, "settings": {"seed": 7}})
    assert out["real_positive_weight"] == 2.0 and out["settings"]["seed"] == 7
    assert out["settings"]["epochs"] == DEFAULTS["settings"]["epochs"]  # merged, not replaced
    assert recipe["settings"]["seed"] == DEFAULTS["settings"]["seed"]  # the recipe itself untouched


def test_a_soup_of_a_model_with_itself_decides_as_that_model_and_is_scored_on_every_split():
    model = FrictionClassifier.load(default_model_path(), precision="fp32", exact=True)
    corpus = load_corpus(CHECKOUT_ROOT / "corpora" / "train")
    dev = corpus[corpus.split == "dev"].groupby("org").head(8)
    test = corpus[corpus.split == "test"].groupby("org").head(4).assign(stratum="random")
    parts = {w: {"train": test.head(0), "dev": dev, "test": test} for w in ("written", "real")}
    soup, metrics = finish([model, model], parts, pooling=model.pooling, log=lambda line: None)
    texts = test.text.tolist()
    assert np.allclose(soup.decision_function(texts), model.decision_function(texts), atol=1e-4)
    assert set(metrics) == {"written dev", "written test", "real dev", "real test", "real test (random stratum)"}
    assert metrics["written test"]["n"] == len(test)
    assert 0.0 <= metrics["real dev"]["any_friction"]["f1"] <= 1.0


def test_worlds_thresholds_are_the_best_mean_of_each_worlds_dev_f1():
    from friction.corpus import label_matrix
    from friction.model.calibration import f1_thresholds

    model = FrictionClassifier.load(default_model_path(), precision="fp32", exact=True)
    corpus = load_corpus(CHECKOUT_ROOT / "corpora" / "train")
    dev = corpus[corpus.split == "dev"]
    written, odd = dev.iloc[::2], dev.iloc[1::2]  # "real": mostly none, as real dev is
    real = pd.concat([odd[odd.label_list.str.len() == 0], odd[odd.label_list.str.len() > 0].head(12)])
    test = corpus[corpus.split == "test"].groupby("org").head(2).assign(stratum="random")
    parts = {w: {"train": test.head(0), "dev": d.assign(world=w), "test": test}
             for w, d in (("written", written), ("real", real))}
    out, _ = finish([model], parts, thresholds="worlds", log=lambda line: None)
    both = pd.concat([written, real])
    proba, y = out.predict_proba(both.text.tolist()), label_matrix(both.label_list, out.label_ids)
    expect = f1_thresholds(proba, y, ["written"] * len(written) + ["real"] * len(real))
    assert np.array_equal(out.thresholds_, expect)
    assert not np.array_equal(expect, f1_thresholds(proba, y))  # this dev is one where the rules differ


def test_a_recipes_pooling_is_set_before_calibration_and_a_bad_one_is_refused(tmp_path):
    from friction.corpus import label_matrix
    from friction.model.calibration import f1_thresholds

    model = FrictionClassifier.load(default_model_path(), precision="fp32", exact=True)
    corpus = load_corpus(CHECKOUT_ROOT / "corpora" / "train")
    dev = corpus[corpus.split == "dev"].groupby("org").head(10)
    test = corpus[corpus.split == "test"].groupby("org").head(2).assign(stratum="random")
    parts = {w: {"train": test.head(0), "dev": dev.assign(world=w), "test": test} for w in ("written", "real")}
    out, _ = finish([model], parts, pooling="drop_edge", log=lambda line: None)
    both = pd.concat([parts["written"]["dev"], parts["real"]["dev"]])
    assert out.pooling == "drop_edge" and out.inference_settings()["pooling"] == "drop_edge"
    proba = out.predict_proba(both.text.tolist())
    assert np.array_equal(out.thresholds_, f1_thresholds(proba, label_matrix(both.label_list, out.label_ids)))
    bad = tmp_path / "recipe.yaml"
    bad.write_text("pooling: sentence_mean\n")
    with pytest.raises(ValueError, match="pooling must be message or drop_edge"):
        load_recipe(bad)


def test_a_recipe_reads_several_written_corpora_each_split_by_its_own_splits_file(tmp_path):
    from friction.corpus import load_corpora
    from friction.model.recipe import world_splits

    for name, org, split in (("a", "Org A", "train"), ("b", "Org B", "dev")):
        folder = tmp_path / name
        folder.mkdir()
        rows = [{"id": f"{name}-{i}", "org": org, "channel": "chat", "labels": "blame" if i % 2 else "",
                 "text": f"message {i} of {org}"} for i in range(4)]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (folder / "splits.json").write_text(json.dumps({split: [org]}))
    (tmp_path / "r.yaml").write_text("root: .\nwritten: [a, b]\n")
    recipe = load_recipe(tmp_path / "r.yaml")
    assert recipe["written"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    read = pd.DataFrame(columns=["text", "label_list", "split", "stratum"])
    parts = world_splits(recipe, read)["written"]
    assert sorted(parts["train"]["id"]) == ["a-0", "a-1", "a-2", "a-3"]
    assert sorted(parts["dev"]["id"]) == ["b-0", "b-1", "b-2", "b-3"] and parts["test"].empty
    assert parts["train"].set_index("id").at["a-1", "label_list"] == ["blame"]
    (tmp_path / "b" / "b.jsonl").write_text(json.dumps(
        {"id": "a-0", "org": "Org B", "channel": "chat", "labels": "", "text": "same id again"}) + "\n")
    with pytest.raises(ValueError, match="a-0 is in more than one corpus"):
        load_corpora([tmp_path / "a", tmp_path / "b"])


def tiny_ingredients(seeds=(0, 1)):
    from friction.model.recipe import Ingredient

    rows = [json.loads(line) for line in open(CHECKOUT_ROOT / "tests" / "fixtures" / "model" / "tiny.jsonl")]
    y = np.array([[float(r["labels"] == lid) for lid in DEFAULT_LABEL_IDS] for r in rows], dtype=np.float32)
    texts = [r["text"] for r in rows]
    return [Ingredient(settings={"epochs": 2, "max_length": 32, "batch_size": 8, "lr": 1e-4, "seed": s},
                       texts=texts, y=y, weights=np.ones(len(rows), np.float32), dev_texts=texts[::3], dev_y=y[::3])
            for s in seeds]


def test_soup_ingredients_trained_side_by_side_are_those_trained_one_after_another(monkeypatch):
    """Each ingredient trains in its own spawned process on its own core; the models that come
    back are the ones this process trains with one core (same seed, same data, same order)."""
    import os

    from friction.model.recipe import fit_ingredients

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores")
    jobs = tiny_ingredients()
    apart = fit_ingredients(jobs, workers=2, log=lambda line: None)
    mine = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(mine)})
        here = fit_ingredients(jobs, workers=1, progress=False)
    finally:
        os.sched_setaffinity(0, mine)
    texts = ["Finance moved our tooling money to the brand team again.", "Room 4B is booked."]
    assert [m.seed for m in apart] == [0, 1]
    for a, b in zip(apart, here):
        np.testing.assert_allclose(a.decision_function(texts), b.decision_function(texts), atol=1e-4)
        assert (a.thresholds_ == b.thresholds_).all()
    assert not np.allclose(apart[0].decision_function(texts), apart[1].decision_function(texts), atol=1e-3)
