"""One pipeline per model folder: saved and reloaded it decides the same, screen included;
--no-cascade is the same pipeline without its screen; the folder's config names its components."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from friction.model import default_model_path, label_messages, load_model
from friction.model.pipeline import FrictionPipeline
from friction.settings import refresh_settings

TEXTS = [
    "We lost the Fenwick renewal because support sat on their escalation for two weeks. That one is on them.",
    "Fourth time asking product for the release notes. Still nothing, and the customers found out before we did.",
    "lunch at noon?",
    "Meeting moved to room 4B.",
    "Thanks for the minutes. Marketing kept its whole events budget and our hiring plan got cancelled.",
    "Spare me the condescending lectures in every review thread. Talk to us like adults or don't bother replying.",
    "Can you send the slides before Friday?",
]


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_model_path(), precision="fp32", exact=True)


@pytest.fixture(scope="module")
def resaved(shipped, tmp_path_factory):
    out = tmp_path_factory.mktemp("resaved") / "model"
    shipped.to_disk(out)
    return out


def test_the_shipped_folder_loads_as_screen_classifier_evidence(shipped):
    assert shipped.names == ["screen", "classifier", "evidence"]
    assert shipped.without("screen").names == ["classifier", "evidence"]
    assert shipped.runtime == "torch-fp32"  # precision asked for explicitly


def test_saved_and_reloaded_the_pipeline_decides_the_same_with_its_screen(shipped, resaved):
    again = load_model(resaved, precision="fp32", exact=True)
    assert again.names == shipped.names
    assert again.screen.threshold_ == shipped.screen.threshold_
    np.testing.assert_array_equal(again.screen.predict_proba(TEXTS), shipped.screen.predict_proba(TEXTS))
    df = pd.DataFrame({"id": [str(i) for i in range(len(TEXTS))], "text": TEXTS})
    a, b = shipped(df), again(df)
    assert (a["stage"] == "screen").any() and (a["stage"] == "model").any()  # the screen is in the path
    pd.testing.assert_frame_equal(a.drop(columns="model_id"), b.drop(columns="model_id"), atol=1e-3)


def test_save_keeps_the_inference_settings_and_the_cards_facts(resaved):
    old = json.loads((default_model_path() / "config.json").read_text())
    new = json.loads((resaved / "config.json").read_text())
    assert new["inference"]["precision"] == old["inference"]["precision"]
    assert [c["name"] for c in new["pipeline"]] == ["screen", "classifier", "evidence"]
    assert new["training_data"] == old["training_data"] and new["model_id"] == old["model_id"]
    assert new["training"] == old["training"] and new["training"]["n_calibration"]
    assert (resaved / "screen" / "screen.json").exists()


def test_a_folder_whose_config_names_a_missing_screen_says_so(resaved, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(resaved, broken)
    shutil.rmtree(broken / "screen")
    with pytest.raises(FileNotFoundError, match="names a screen"):
        FrictionPipeline.from_disk(broken)


def test_no_cascade_reads_every_message_and_agrees_where_the_screen_passed(shipped):
    df = pd.DataFrame({"id": [str(i) for i in range(len(TEXTS))], "text": TEXTS})
    cascade = label_messages(shipped, df, with_evidence=False)
    full = label_messages(shipped, df, with_evidence=False, cascade=False)
    assert (full["stage"] == "model").all()
    read = (cascade["stage"] == "model").to_numpy()
    scores = [c for c in full.columns if c.startswith("score_")]
    np.testing.assert_allclose(cascade.loc[read, scores], full.loc[read, scores], atol=1e-4)
    assert (cascade.loc[~read, scores] == 0).all().all()


def test_the_token_budget_reads_first_and_last_windows_only():
    from friction.model.classifier import window_budget

    mapping = np.array([0, 1, 1, 1, 1, 1, 2, 2])
    keep = window_budget(mapping, 3)
    assert keep.tolist() == [True, True, True, False, False, True, True, True]
    assert window_budget(mapping, 4) is not None and window_budget(mapping, 5) is None
    assert window_budget(mapping, None) is None


def test_the_runtime_is_chosen_per_cpu_at_load_time(monkeypatch):
    import friction.model.runtime as runtime

    monkeypatch.setenv("FRICTION_PRECISION", "fp32")  # an ordinary CPU, as far as the choice goes
    monkeypatch.delenv("FRICTION_RUNTIME", raising=False)
    refresh_settings()  # settings are read once per process: read the changed variables
    monkeypatch.setattr(runtime, "onnx_available", lambda: False)
    assert runtime.choose({"precision": "auto", "onnx_int8": True}) == "torch-fp32"  # the extra is optional
    monkeypatch.setattr(runtime, "onnx_available", lambda: True)
    assert runtime.choose({"precision": "auto", "onnx_int8": True}) == "onnx-int8"
    assert runtime.choose({"precision": "auto"}) == "torch-fp32"  # the folder did not choose int8
    monkeypatch.setenv("FRICTION_RUNTIME", "torch")
    refresh_settings()
    assert runtime.choose({"precision": "auto", "onnx_int8": True}) == "torch-fp32"
    monkeypatch.setenv("FRICTION_PRECISION", "bf16")
    monkeypatch.delenv("FRICTION_RUNTIME")
    refresh_settings()
    assert runtime.choose({"precision": "auto", "onnx_int8": True}) == "torch-bf16"
    monkeypatch.setenv("FRICTION_RUNTIME", "tensorrt")
    with pytest.raises(ValueError, match="torch or onnx"):
        refresh_settings()
        runtime.choose({})


def test_onnx_int8_decides_like_fp32_on_clear_messages(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("FRICTION_CACHE", str(tmp_path))
    monkeypatch.setenv("FRICTION_RUNTIME", "onnx")
    refresh_settings()
    onnx = load_model(default_model_path(), precision="fp32").without("screen")
    monkeypatch.setenv("FRICTION_RUNTIME", "torch")
    refresh_settings()
    fp32 = load_model(default_model_path(), precision="fp32", exact=True).without("screen")
    assert onnx.runtime == "onnx-int8" and fp32.runtime == "torch-fp32"
    assert list(tmp_path.rglob("encoder.int8.onnx"))  # exported once, cached outside the folder
    a, b = onnx.predict_proba(TEXTS), fp32.predict_proba(TEXTS)
    assert np.abs(a - b).max() < 0.1  # calibrated scores; int8 moves large logits by up to ~1.2
    assert (onnx.predict(TEXTS) == fp32.predict(TEXTS)).mean() >= 0.95


def test_a_folder_that_chose_int8_runs_it_but_trains_and_saves_from_its_own_weights(shipped, tmp_path, monkeypatch):
    from friction.model import runtime

    monkeypatch.setenv("FRICTION_PRECISION", "fp32")  # an ordinary CPU
    monkeypatch.delenv("FRICTION_INT8", raising=False)
    refresh_settings()
    assert runtime.choose({"precision": "auto", "int8": True}) == "torch-int8"
    assert runtime.choose({"precision": "auto", "int8": True}, exact=True) == "torch-fp32"
    int8 = load_model(default_model_path(), precision="fp32").without("screen")
    exact = load_model(default_model_path(), precision="fp32", exact=True).without("screen")
    assert int8.runtime == "torch-int8" and exact.runtime == "torch-fp32"
    quantised = [n for n, m in int8.classifier.encoder_.model.named_modules() if "quantized" in type(m).__module__]
    assert quantised and all(".attention." in f".{n}." for n in quantised)  # the feed-forward layers stay fp32
    assert (int8.predict(TEXTS) == exact.predict(TEXTS)).mean() >= 0.95
    with pytest.raises(ValueError, match="cannot be saved"):
        int8.to_disk(tmp_path / "copy")


def test_a_token_budget_set_and_then_dropped_is_saved_as_dropped(resaved, tmp_path):
    pipe = load_model(resaved, precision="fp32", exact=True)
    pipe.classifier.windows_per_message = 3
    pipe.to_disk(tmp_path / "budget")
    again = load_model(tmp_path / "budget", precision="fp32", exact=True)
    assert again.classifier.windows_per_message == 3
    again.classifier.windows_per_message = None
    again.to_disk(tmp_path / "budget")
    cfg = json.loads((tmp_path / "budget" / "config.json").read_text())
    assert "windows_per_message" not in cfg["inference"] and cfg["inference"]["int8"] is True
