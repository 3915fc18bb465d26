"""Does scoring a message's sentences *in context* fix the opener weakness without hurting dev?

    python scripts/experiments/pooling_in_context.py [--model models/default] [--cache DIR]

The weakness (strict xfail in tests/test_default_model.py): mean pooling lets a neutral greeting
before a complaint pull the message under its threshold. Mean pooling and the heads are linear,
so one reading of the message already gives every token's contribution to each logit; from it,
without a second pass of the transformer:

- `drop_one`: the message's logit with one sentence's tokens left out (the most friction-like
  such view: a greeting cannot dilute what is left);
- `drop_edge`: the same, leaving out only the first or the last sentence (where greetings and
  sign-offs sit);
- `sentence`: a sentence's own in-context logit (the mean of its tokens), for sentences of at
  least `min_tokens` tokens.

Each variant's score is max(message, variant). Every variant is calibrated and thresholded on
written + real dev exactly as the shipped model is (Platt per label, pooled F1 thresholds) and
scored by the dev rule of soup_select.py (mean of written-dev macro-F1 and real-dev any-F1; dev
false alarms <= 3.5% on both). The clear messages with an opener / closer of the xfail are
counted too. No test split is read.

Results (2026-12-07, shipped two-model soup, fp32; "found" = clear messages still flagged):

    variant                dev rule  written dev F1 / FA  real dev any-F1 / FA  opener  closer
    message (shipped)      0.612     0.803 / 2.7%         0.422 / 2.2%          4/7     7/7
    drop_one               0.610     0.810 / 3.1%         0.409 / 2.4%          6/7     7/7
    drop_edge              0.610     0.804 / 3.4%         0.416 / 2.6%          6/7     7/7
    sentence>=3            0.619     0.803 / 3.4%         0.436 / 2.4%          5/7     7/7
    sentence>=5            0.614     0.803 / 3.4%         0.425 / 2.3%          5/7     7/7
    sentence>=8            0.624     (out: written dev FA 3.7%)                  5/7     7/7

Decided before a test figure was read: ship `drop_edge` (it fixes the opener weakness at an equal
dev rule) if the test floors still held. Built once (`python scripts/soup_folders.py RECIPE
models/default -o DIR` with `pooling: drop_edge`; fp32, no screen, against the shipped folder's
metrics.json): written test macro-F1 0.777 -> 0.784 but false alarms on none 4.4% -> 5.8% (floor
5%); real test any-F1 0.479 -> 0.478, false alarms 3.9% -> 4.1%. Its rebuilt conv screen passed
22.5% of the pool's dev communities (shipped: 16.7%), since more flags must be kept. Not shipped;
`pooling: drop_edge` stays a recipe option. All variants add written-dev false alarms (2.7% ->
3.1-3.7%): a fix at training time (an objective that does not average a greeting in) looks like
the way, not a different read of the same model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from friction.corpus import label_matrix  # noqa: E402
from friction.labels import DEFAULT_LABEL_IDS  # noqa: E402
from friction.model.calibration import f1_thresholds, platt_apply, platt_fit  # noqa: E402
from friction.model.classifier import FrictionClassifier  # noqa: E402
from friction.model.metrics import evaluate  # noqa: E402
from friction.model.recipe import dev_frame, load_recipe, world_splits  # noqa: E402
from friction.model.sentences import sentence_spans  # noqa: E402
from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool  # noqa: E402


def views(model: FrictionClassifier, texts: list[str]) -> dict[str, np.ndarray]:
    """Per text: the message logit, the best drop-one-sentence logit and the best in-context
    sentence logit per minimum sentence length (all (n, labels); -inf where none)."""
    tokens: list = []
    whole = model.decision_function(texts, tokens=tokens)
    bias = model.head_.bias.detach().float().numpy()
    drop = np.full_like(whole, -np.inf)
    edge = np.full_like(whole, -np.inf)
    sent = {k: np.full_like(whole, -np.inf) for k in (3, 5, 8)}
    for i, (spans, (offsets, contrib)) in enumerate(zip(sentence_spans(texts), tokens)):
        if len(spans) < 2 or not len(contrib):
            continue
        total, n = contrib.sum(0), len(contrib)
        for j, (a, b) in enumerate(spans):
            inside = (offsets[:, 0] >= a) & (offsets[:, 1] <= b)
            k = int(inside.sum())
            if not k:
                continue
            if n > k:
                rest = (total - contrib[inside].sum(0)) / (n - k) + bias
                drop[i] = np.maximum(drop[i], rest)
                if j in (0, len(spans) - 1):
                    edge[i] = np.maximum(edge[i], rest)
            own = contrib[inside].mean(0) + bias
            for m in sent:
                if k >= m:
                    sent[m][i] = np.maximum(sent[m][i], own)
    out = {"message": whole, "drop_one": np.maximum(whole, drop), "drop_edge": np.maximum(whole, edge)}
    for m, s in sent.items():
        out[f"sentence>={m}"] = np.maximum(whole, s)
    out["drop_one+sentence>=3"] = np.maximum(out["drop_one"], sent[3])
    out["drop_edge+sentence>=3"] = np.maximum(out["drop_edge"], sent[3])
    out["drop_edge+sentence>=5"] = np.maximum(out["drop_edge"], sent[5])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--recipe", default=str(ROOT / "models" / "default" / "recipe.yaml"))
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    recipe = load_recipe(args.recipe)
    read = load_real_corpus(recipe["real"], pool=read_pool(recipe["pool"] or DEFAULT_POOL))
    dev = dev_frame(world_splits(recipe, read))
    model = FrictionClassifier.load(args.model, precision="fp32", exact=True)
    cache = Path(args.cache) / "pooling_views.npz" if args.cache else None
    if cache is not None and cache.exists():
        dev_views = dict(np.load(cache))
    else:
        dev_views = views(model, dev.text.tolist())
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **dev_views)
    sys.path.insert(0, str(ROOT / "tests"))
    from test_default_model import CLEAR  # the xfail's own messages

    ids = list(DEFAULT_LABEL_IDS)
    y = label_matrix(dev.label_list, ids)
    worlds = dev.world.to_numpy()
    opener = [f"Hi all, quick note before Friday. {CLEAR[lid]}" for lid in CLEAR]
    closer = [f"{CLEAR[lid]} Thanks, see you at Friday's review." for lid in CLEAR]
    probe = {"opener": views(model, opener), "closer": views(model, closer)}
    cols = [ids.index(lid) for lid in CLEAR]
    for name, logits in dev_views.items():
        calib = platt_fit(logits, y)
        proba = platt_apply(logits, calib)
        t = f1_thresholds(proba, y, None)
        fig = {w: evaluate(y[worlds == w], (proba[worlds == w] >= t).astype(np.int8), ids) for w in ("written", "real")}
        ok = max(f["fpr_none"] for f in fig.values()) <= 0.035
        score = (fig["written"]["macro_f1"] + fig["real"]["any_friction"]["f1"]) / 2
        found = {k: int(sum(platt_apply(v[name], calib)[i, c] >= t[c] for i, c in enumerate(cols)))
                 for k, v in probe.items()}
        print(f"{name:<22} dev rule {score:.4f}{'' if ok else ' (dev FA > 3.5%: out)'}"
              f"  written macro-F1 {fig['written']['macro_f1']:.3f} FA {fig['written']['fpr_none']:.3f}"
              f"  real any-F1 {fig['real']['any_friction']['f1']:.3f} (P {fig['real']['any_friction']['precision']:.2f}"
              f" R {fig['real']['any_friction']['recall']:.2f}) FA {fig['real']['fpr_none']:.3f}"
              f"  clear found: opener {found['opener']}/7, closer {found['closer']}/7")


if __name__ == "__main__":
    main()
