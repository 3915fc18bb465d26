"""The shipped model, loaded from its folder as a user would: clear examples of every label, and
hard negatives that use the labels' vocabulary without being friction."""

from __future__ import annotations

import json

import pytest

from friction.model import default_model_path, label_messages, load_model

CLEAR = {
    "blame": "We lost the Fenwick renewal because support sat on their escalation for two weeks. That one is on them.",
    "budget_rivalry": "So the events team gets another sixty grand for booths and we still can't hire the two analysts we've asked for since March?",
    "goal_mismatch": "Finance counts a deal when the invoice is paid, sales when the contract is signed, so which number is my bonus actually based on?",
    "communication_breakdown": "Fourth time asking product for the release notes. Still nothing, and the customers found out about the change before we did.",
    "role_confusion": "Honestly the design team just makes things pretty, they have no idea what customers actually need from this screen.",
    "culture_clash": "Spare me the condescending lectures in every review thread. Talk to us like adults or don't bother replying.",
    "strategy_misalignment": "Marketing is pushing the premium tier to enterprise while we were told to chase small businesses with the starter bundle. We're selling against each other.",
}
HARD_NEGATIVES = [
    "Budget approved for the Q3 campaign, thanks everyone for turning the numbers round so quickly.",
    "My fault, I sent the old deck this morning. Corrected version attached.",
    "Post-mortem: no blame here, the handoff form was missing a field and it's fixed now.",
    "Our goal for Q3 is 20% more qualified pipeline; marketing owns MQLs and sales owns SQLs.",
    "Customer pushed the signing to next quarter, nothing we could have done.",
    "Welcome aboard! In your first week you'll meet each team and learn who does what.",
]


@pytest.fixture(scope="module")
def model():
    path = default_model_path()
    if not (path / "config.json").exists():
        pytest.fail(f"the shipped model is missing at {path}")
    return load_model(path)


def test_the_folder_describes_itself(model):
    folder = default_model_path()
    cfg = json.loads((folder / "config.json").read_text())
    assert [lab["id"] for lab in cfg["labels"]] == list(CLEAR)
    assert len(cfg["training_data"]["sha256"]) == 64 and cfg["versions"]["transformers"]
    assert (folder / "README.md").exists() and (folder / "metrics.json").exists()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 60 * 1024 * 1024
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib", ".pt", ".bin")]


@pytest.mark.parametrize("label", list(CLEAR))
def test_clear_examples_get_their_label(model, label):
    flags = model.predict([CLEAR[label]])[0]
    assert flags[model.label_ids.index(label)] == 1, dict(zip(model.label_ids, model.predict_proba([CLEAR[label]])[0].round(2)))


def test_hard_negatives_stay_clean(model):
    flags = model.predict(HARD_NEGATIVES)
    assert flags.sum() <= 1, [t for t, f in zip(HARD_NEGATIVES, flags) if f.any()]


def test_scores_are_probabilities_and_evidence_points_at_the_sentence(model):
    import pandas as pd

    texts = [f"{CLEAR[lid]} Thanks, see you at Friday's review." for lid in CLEAR]
    out = label_messages(model, pd.DataFrame({"id": list(CLEAR), "text": texts}), cascade=False)
    scores = out[[f"score_{lid}" for lid in CLEAR]].to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    found = 0
    for lid, (_, row) in zip(CLEAR, out.iterrows()):
        if row[f"flag_{lid}"]:
            found += 1
            sentence = json.loads(row["evidence"])[lid][0]
            assert "Friday's review" not in sentence and sentence in CLEAR[lid]
    assert found >= 3  # how many survive the pleasantry is the weakness tested below


@pytest.mark.xfail(strict=True, reason="known weakness (model card): a neutral greeting sentence before a "
                   "complaint can still pull the score under the threshold (the two-model soup misses "
                   "3 of 7 clear messages with an opener, 0 of 7 with a closer). The recipe's `pooling: drop_edge` "
                   "fixes it (1 of 7) but raised written-test false alarms to 5.8% (scripts/experiments/"
                   "pooling_in_context.py); remove once fixed")
def test_a_greeting_or_pleasantry_around_the_complaint_does_not_hide_it(model):
    for texts in ([f"Hi all, quick note before Friday. {CLEAR[lid]}" for lid in CLEAR],
                  [f"{CLEAR[lid]} Thanks, see you at Friday's review." for lid in CLEAR]):
        flags = model.predict(texts)
        assert sum(flags[i][model.label_ids.index(lid)] for i, lid in enumerate(CLEAR)) >= 6


@pytest.fixture
def no_precision_override(monkeypatch):
    """These tests ask for a precision themselves; $FRICTION_PRECISION (set to emulate a CPU
    without bf16) would override what they ask for."""
    from friction.settings import refresh_settings

    monkeypatch.delenv("FRICTION_PRECISION", raising=False)
    refresh_settings()
    yield
    monkeypatch.undo()
    refresh_settings()


def test_bf16_inference_agrees_with_fp32(no_precision_override):
    """bf16 is what `auto` picks on CPUs with native bf16; it must decide like fp32 (emulated
    bf16 on other CPUs is slower but gives the same numbers, so this runs anywhere)."""
    import numpy as np

    from friction.model.classifier import FrictionClassifier

    texts = list(CLEAR.values()) + HARD_NEGATIVES
    fp32 = FrictionClassifier.load(default_model_path(), precision="fp32", exact=True)  # not the int8 runtime
    bf16 = FrictionClassifier.load(default_model_path(), precision="bf16")
    assert fp32.precision_ == "fp32" and bf16.precision_ == "bf16"
    assert np.abs(fp32.decision_function(texts) - bf16.decision_function(texts)).max() < 0.5
    assert (fp32.predict(texts) == bf16.predict(texts)).all()


def test_unknown_precision_is_refused(no_precision_override):
    from friction.model.encoder import inference_dtype
    from friction.settings import Settings

    with pytest.raises(ValueError, match="auto, fp32 or bf16.*FRICTION_PRECISION"):
        Settings.from_env({"FRICTION_PRECISION": "fp8"})
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        inference_dtype("fp8")


def test_token_contributions_add_up_to_the_message_logit(model):
    """Evidence without a second pass rests on this: mean pooling and the heads are linear, so
    a short message's logit is the mean of its tokens' contributions plus the bias (the [CLS]
    and [SEP] tokens, left out of the evidence, are the only difference)."""
    import numpy as np
    import torch

    text = CLEAR["blame"]
    tokens: list = []
    model = model.classifier
    model.predict_proba([text], tokens=tokens)
    offsets, contrib = tokens[0]
    assert len(offsets) == len(contrib) > 10 and (offsets[:, 1] > offsets[:, 0]).all()
    enc = model.encoder_.tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        hidden = model.encoder_.hidden(enc["input_ids"], enc["attention_mask"])[0]
        every = (hidden @ model.head_.weight.T).numpy()
    logit = model.decision_function([text])[0]
    assert np.allclose(every.mean(0) + model.head_.bias.detach().numpy(), logit, atol=1e-3)
    assert np.allclose(every[1:-1], contrib, atol=1e-4)  # the text's own tokens, in order


def test_drop_edge_pooling_is_the_message_read_without_its_greeting_or_sign_off():
    """drop_edge scores a message as the higher of its whole reading and that reading with the
    first or the last sentence's tokens left out; checked against the encoder's hidden states
    directly (mean of the kept tokens' head outputs), for a greeting + complaint + sign-off."""
    import numpy as np
    import torch

    from friction.model.classifier import FrictionClassifier

    clf = FrictionClassifier.load(default_model_path(), precision="fp32", exact=True)
    greeting, complaint, sign_off = "Hi all, quick note before Friday.", CLEAR["blame"], "Thanks, see you soon."
    text = f"{greeting} {complaint} {sign_off}"
    enc = clf.encoder_.tokenizer([text], return_tensors="pt", return_offsets_mapping=True)
    offsets = enc.pop("offset_mapping")[0].numpy()
    with torch.inference_mode():
        hidden = clf.encoder_.hidden(enc["input_ids"], enc["attention_mask"])[0].float()
        every = (hidden @ clf.head_.weight.T.float()).numpy() + clf.head_.bias.detach().float().numpy()
    real = offsets[:, 1] > offsets[:, 0]
    first = real & (offsets[:, 1] <= len(greeting))
    last = real & (offsets[:, 0] >= len(text) - len(sign_off))
    expect = np.max([every.mean(0), every[real & ~first].mean(0), every[real & ~last].mean(0)], axis=0)
    clf.pooling = "message"
    assert np.allclose(clf.decision_function([text])[0], every.mean(0), atol=1e-3)
    clf.pooling = "drop_edge"
    one = CLEAR["budget_rivalry"]  # a single sentence: nothing to leave out
    got = clf.decision_function([text, one])
    assert np.allclose(got[0], expect, atol=1e-3) and (got[0] > every.mean(0) + 0.1).any()
    clf.pooling = "message"
    assert np.allclose(got[1], clf.decision_function([one])[0], atol=1e-4)


def test_the_screen_passes_clear_friction(model):
    assert model.screen.passes(list(CLEAR.values())).all()


@pytest.mark.xfail(strict=True, reason="known weakness: the screen built for real text (threshold keeping 98% of "
                   "the model's real-dev flags) passes 17% of real traffic and still lets 'Meeting moved to room 4B.' "
                   "through (model card)")
def test_the_screen_stops_small_talk(model):
    assert not model.screen.passes(["lunch at noon?", "thanks, see you tomorrow", "Meeting moved to room 4B."]).any()
