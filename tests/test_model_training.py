"""Training, calibration, saving and loading on a tiny fixture: the real encoder, real gradients."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from friction.cli import cli
from friction.corpus import label_matrix, load_corpus
from friction.labels import load_label_set
from friction.model import label_messages, load_model
from friction.model.classifier import FrictionClassifier
from friction.tables import read_table

FIX = "tests/fixtures/model"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train once through the CLI with a custom label set (one kept, one renamed)."""
    out = tmp_path_factory.mktemp("m") / "tiny-model"
    r = CliRunner().invoke(cli, ["train", f"{FIX}/tiny.jsonl", "--labels", f"{FIX}/labels.yaml",
                                 "-o", str(out), "--epochs", "12", "--max-length", "48"])
    assert r.exit_code == 0, r.output
    return out


def test_custom_label_set_renames_and_drops():
    labels, renames = load_label_set(f"{FIX}/labels.yaml")
    assert [lab.id for lab in labels] == ["budget_rivalry", "tone_and_style"]
    assert renames == {"culture_clash": "tone_and_style"}
    df = load_corpus(f"{FIX}/tiny.jsonl", label_ids=[lab.id for lab in labels], renames=renames)
    y = label_matrix(df["label_list"], ["budget_rivalry", "tone_and_style"])
    assert y.sum(0).tolist() == [12, 12]


def test_training_learns_the_fixture(trained):
    model = load_model(trained)
    held = load_corpus(f"{FIX}/heldout.jsonl", label_ids=model.label_ids, renames={"culture_clash": "tone_and_style"})
    proba = model.predict_proba(held["text"].tolist())
    assert model.label_ids == ["budget_rivalry", "tone_and_style"]
    # the budget complaint scores highest on budget_rivalry, the tone complaint on tone_and_style
    assert proba[0, 0] > proba[0, 1] and proba[1, 1] > proba[1, 0]
    # and the neutral message scores lower than the positives on both labels
    assert proba[2, 0] < proba[0, 0] and proba[2, 1] < proba[1, 1]


def test_saved_folder_is_self_describing_and_pickle_free(trained):
    names = {p.name for p in trained.rglob("*") if p.is_file()}
    assert {"config.json", "heads.safetensors", "model.safetensors", "tokenizer.json"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".bin", ".joblib", ".pt")) for n in names)
    cfg = json.loads((trained / "config.json").read_text())
    assert [lab["id"] for lab in cfg["labels"]] == ["budget_rivalry", "tone_and_style"]
    assert set(cfg["thresholds"]) == {"budget_rivalry", "tone_and_style"}
    assert len(cfg["training_data"]["sha256"]) == 64 and cfg["versions"]["torch"]


def test_label_stage_adds_scores_flags_and_evidence(trained):
    import pandas as pd

    model = load_model(trained)
    df = pd.DataFrame({"id": ["a", "b"], "text": [
        "Thanks for the minutes. Marketing kept its whole events budget and our hiring plan got cancelled.",
        "Room 4B is booked."]})
    out = label_messages(model, df)
    assert {"score_budget_rivalry", "flag_tone_and_style", "labels", "evidence", "model_id"} <= set(out.columns)
    assert out["score_budget_rivalry"].between(0, 1).all()
    if out.loc[0, "flag_budget_rivalry"]:
        ev = json.loads(out.loc[0, "evidence"])
        assert ev["budget_rivalry"][0].startswith("Marketing kept")  # the sentence, not the thanks


def test_continue_from_a_model_keeps_known_heads(trained):
    base = load_model(trained)
    cont = FrictionClassifier(labels=base.labels, base=trained)
    cont._init_modules()
    assert np.allclose(cont.head_.weight.detach().numpy(), base.classifier.head_.weight.detach().numpy())


def test_classify_and_suggest_cli(trained, tmp_path):
    out = tmp_path / "labelled.parquet"
    r = CliRunner().invoke(cli, ["classify", "tests/fixtures/ingest/teams", "--model", str(trained), "-o", str(out)])
    assert r.exit_code == 0, r.output
    df = read_table(str(out))
    assert len(df) == 2 and "score_budget_rivalry" in df.columns
    sug = tmp_path / "to_label.csv"
    r = CliRunner().invoke(cli, ["suggest", "tests/fixtures/ingest/mail", "tests/fixtures/ingest/slack",
                                 "--model", str(trained), "-n", "3", "-o", str(sug)])
    assert r.exit_code == 0, r.output
    s = read_table(str(sug))
    assert len(s) == 3 and {"text", "labels", "suggested_labels", "uncertainty"} <= set(s.columns)
    assert s["uncertainty"].astype(float).is_monotonic_decreasing


def test_long_texts_go_through_the_encoder_in_bounded_window_batches(trained):
    """A batch of long texts is split into window slices (bounded memory); the logits and the
    per-token contributions are those of one pass (up to kernel rounding: batch shapes differ)."""
    import torch

    model = load_model(trained).classifier
    texts = ["Marketing kept the whole events budget and our hiring plan got cancelled again. " * 60,
             "Room 4B is booked.", "Nobody told support that the release moved. " * 40]
    seen = []
    real = model.encoder_.hidden
    model.encoder_.hidden = lambda ids, mask: (seen.append(len(ids)), real(ids, mask))[1]
    with torch.inference_mode():
        tok_one, tok_sliced = [], []
        one_pass = model._logits(texts, None, 64, tokens=tok_one, max_windows=10_000)
        seen.clear()
        sliced = model._logits(texts, None, 64, tokens=tok_sliced, max_windows=7)
    assert max(seen) <= 7 and sum(seen) > 7
    np.testing.assert_allclose(sliced, one_pass, atol=5e-3)
    assert len(tok_one) == len(tok_sliced) == 3
    for (o1, c1), (o2, c2) in zip(tok_one, tok_sliced):
        assert (o1 == o2).all() and len(o1) > 0
        np.testing.assert_allclose(c1, c2, rtol=0.02, atol=0.02)   # per-token values: bf16 rounding


PREAMBLE = ("Notes from the Tuesday planning call: the room is booked until noon, lunch arrives at twelve, "
            "parking is in lot B, badges wait at the front desk, and the slides go in the shared folder "
            "before nine on Monday morning, as agreed last week. ")


def test_training_on_every_window_learns_a_complaint_after_a_long_preamble(tmp_path):
    """Inference scores a long text by its strongest window; with train_windows, training does the
    same. Here every text's first window is the same preamble, so only the later windows carry
    the label: the windowed model learns it and keeps the setting through save, load and soup."""
    from friction.labels import Label

    rows = [json.loads(line) for line in open(f"{FIX}/tiny.jsonl", encoding="utf-8")]
    rows = [r for r in rows if r["labels"] in ("budget_rivalry", "")]
    texts = [PREAMBLE + r["text"] for r in rows]
    y = np.array([[float(r["labels"] == "budget_rivalry")] for r in rows], dtype=np.float32)
    label = Label("budget_rivalry", "Competition for funding", "")
    model = FrictionClassifier(labels=[label], max_length=48, epochs=10, lr=1e-4, train_windows=4, seed=0)
    from transformers import AutoTokenizer

    from friction.model.encoder import minilm_dir

    tok = AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
    model_tokens = {tuple(ids) for ids in tok(texts, truncation=True, max_length=48)["input_ids"]}
    assert len(model_tokens) == 1  # the first window alone says nothing
    model.fit(texts, y, holdout=0, progress=False)
    held = [PREAMBLE + "Marketing kept its whole events budget and our hiring plan got cancelled.",
            PREAMBLE + "Thanks, the slides look good. See you tomorrow."]
    scores = model.decision_function(texts + held)[:, 0]
    train_pos, train_neg = scores[:len(rows)][y[:, 0] == 1], scores[:len(rows)][y[:, 0] == 0]
    assert train_pos.min() > train_neg.max()
    assert scores[-2] > scores[-1]
    model.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["settings"]["train_windows"] == 4
    again = FrictionClassifier.load(tmp_path / "m", precision="fp32", exact=True)
    assert again.train_windows == 4 and FrictionClassifier.soup([again, again]).train_windows == 4


def test_a_recipe_model_saved_without_its_screen_is_a_loadable_screenless_folder(trained, tmp_path):
    """`friction train --recipe R --no-screen` (a soup ingredient trained alone): the folder holds
    the classifier, its figures and the recipe, and no screen stage."""
    from friction.api import save_with_screen

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("settings: {seed: 1}\n", encoding="utf-8")
    model = load_model(trained).classifier
    save_with_screen(model, {"real dev": {"macro_f1": 0.5}}, {"model_id": "x"}, {}, recipe, tmp_path / "ingredient",
                     screen=False)
    folder = tmp_path / "ingredient"
    cfg = json.loads((folder / "config.json").read_text())
    assert [c["name"] for c in cfg["pipeline"]] == ["classifier", "evidence"]
    assert not (folder / "screen").exists() and (folder / "recipe.yaml").read_text() == "settings: {seed: 1}\n"
    assert json.loads((folder / "metrics.json").read_text()) == {"real dev": {"macro_f1": 0.5}}
    again = load_model(folder)
    assert again.screen is None and again.label_ids == model.label_ids
