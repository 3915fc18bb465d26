"""The screen is built by the library (a step of training): its threshold keeps the recall target on
every dev set, both kinds of screen round-trip through their folder, and `friction build-screen`
turns a trained folder into a cascade-ready one."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from friction.model import default_model_path, load_model
from friction.model.cascade import fit_screen, screen_from_frames
from friction.model.screen import FrictionScreen

COMPLAINTS = ["they never answer our tickets", "finance blocked our budget again", "sales ignored the plan",
              "nobody told us about the change", "their team blames us for everything"]
NEUTRAL = ["lunch at noon", "room 4b is booked", "slides attached", "see you friday", "thanks for the notes",
           "the build passed", "meeting moved to 3pm", "welcome aboard"]


def frame(split: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        bad = rng.random() < 0.3
        text = f"{rng.choice(NEUTRAL)} {rng.choice(COMPLAINTS)}" if bad else f"{rng.choice(NEUTRAL)} {rng.choice(NEUTRAL)}"
        rows.append({"text": text, "label_list": ["blame"] if bad else [], "split": split})
    return pd.DataFrame(rows)


def test_the_threshold_is_the_highest_that_keeps_the_recall_target_on_every_dev_set():
    train, dev_a, dev_b = frame("train", 300, 0), frame("dev", 80, 1), frame("dev", 80, 2)
    dev = {name: (d["text"].tolist(), (d["label_list"].map(len) > 0).to_numpy()) for name, d in
           (("a", dev_a), ("b", dev_b))}
    screen = fit_screen(FrictionScreen(C=4.0), train["text"].tolist(), (train["label_list"].map(len) > 0).to_numpy(),
                        dev, recall=0.98)
    for name in ("a", "b"):
        assert screen.tuning_[name]["recall"] >= 0.98
    assert 0 < screen.threshold_ < 1 and screen.tuning_["a"]["pass_rate_none"] < 0.5
    higher = screen.threshold_ + 0.005  # one step up must break the target somewhere, or the grid's end
    p = {n: screen.predict_proba(t) for n, (t, _) in dev.items()}
    assert higher >= 0.99 or any((p[n][y] >= higher).mean() < 0.98 for n, (_, y) in dev.items())


def test_written_corpus_only_gives_a_tfidf_screen_with_its_figures():
    df = pd.concat([frame("train", 300, 0), frame("dev", 100, 1)], ignore_index=True)
    screen = screen_from_frames(df, log=lambda line: None)
    assert isinstance(screen, FrictionScreen)
    assert screen.tuning_["written dev"]["recall"] >= 0.98 and "FrictionScreen" in screen.tuning_["candidates"]


def test_a_static_screen_round_trips_through_its_folder(tmp_path):
    from transformers import AutoTokenizer

    from friction.model.static_screen import StaticScreen

    s = StaticScreen(dims=8)
    s.tokenizer_ = AutoTokenizer.from_pretrained(default_model_path() / "encoder", local_files_only=True)
    s.vectors_ = np.random.default_rng(0).normal(size=(s.tokenizer_.vocab_size, 8)).astype(np.float16).astype(np.float32)
    train = frame("train", 200, 0)
    s.fit(train["text"].tolist(), (train["label_list"].map(len) > 0).to_numpy())
    s.threshold_ = 0.4
    s.save(tmp_path / "screen")
    again = FrictionScreen.load(tmp_path / "screen")
    assert isinstance(again, StaticScreen)
    texts = frame("dev", 50, 3)["text"].tolist()
    np.testing.assert_allclose(again.predict_proba(texts), s.predict_proba(texts), atol=1e-6)
    assert (again.passes(texts) == s.passes(texts)).all()


@pytest.mark.slow
def test_build_screen_makes_a_trained_folder_cascade_ready(tmp_path):
    from friction.cli import cli

    folder = tmp_path / "model"
    shutil.copytree(default_model_path(), folder, ignore=shutil.ignore_patterns("screen", "recipe.yaml"))
    cfg = json.loads((folder / "config.json").read_text())
    cfg.pop("pipeline", None)  # a folder as training leaves it, before any screen
    (folder / "config.json").write_text(json.dumps(cfg))
    assert load_model(folder).names == ["classifier", "evidence"]
    r = CliRunner().invoke(cli, ["build-screen", str(folder)])
    assert r.exit_code == 0, r.output
    cfg = json.loads((folder / "config.json").read_text())
    assert [c["name"] for c in cfg["pipeline"]] == ["screen", "classifier", "evidence"]
    pipe = load_model(folder, precision="fp32")
    assert pipe.screen.tuning_["written dev"]["recall"] >= 0.98
    texts = ["lunch at noon?", "We lost the renewal because support sat on the escalation for two weeks. That is on them."]
    assert pipe.screen.passes(texts).tolist() == [False, True]


def test_a_convolutional_screen_learns_the_complaint_and_round_trips_through_its_folder(tmp_path):
    from transformers import AutoTokenizer

    from friction.model.conv_screen import ConvScreen

    s = ConvScreen(filters=16, epochs=15, lr=1e-2, embedding_lr=1e-2, seed=0)  # a toy set: few steps
    s.tokenizer_ = AutoTokenizer.from_pretrained(default_model_path() / "encoder", local_files_only=True)
    s.vectors_ = np.random.default_rng(0).normal(size=(s.tokenizer_.vocab_size, 8)).astype(np.float16).astype(np.float32)
    train = frame("train", 300, 0)
    s.fit(train["text"].tolist(), (train["label_list"].map(len) > 0).to_numpy())
    dev = frame("dev", 100, 3)
    p, bad = s.predict_proba(dev["text"].tolist()), (dev["label_list"].map(len) > 0).to_numpy()
    assert p[bad].min() > p[~bad].max()  # the complaint phrase decides, wherever it sits
    s.threshold_ = float((p[bad].min() + p[~bad].max()) / 2)
    s.save(tmp_path / "screen")
    again = FrictionScreen.load(tmp_path / "screen")
    assert isinstance(again, ConvScreen) and again.params() == s.params()
    np.testing.assert_allclose(again.predict_proba(dev["text"].tolist()), p, atol=1e-6)
    assert (again.passes(dev["text"].tolist()) == bad).all()
