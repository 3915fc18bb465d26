"""Is a 3-layer student distilled from the shipped model within the quality rule, and how much faster?

One-off experiment (issue 11: the transformer is 83% of a real-traffic scan's time, so a model
several times cheaper in fp32 is the lever left for the 8x/10x floors; issue 10 item 3: a fast
student distilled from a teacher).

    python scripts/experiments/screen_conv.py teacher CACHE     # the training texts (4 min)
    python scripts/experiments/distil_student.py layers CACHE                # which layers to keep
    python scripts/experiments/distil_student.py train CACHE OUT LAYERS EPOCHS

`layers` measures, on 1,024 training texts, how far each choice of kept layers starts from the
teacher's logits (before any training). `train` keeps LAYERS (e.g. 0,2,5) of the shipped model's
encoder, with its heads, and trains it to reproduce the shipped model's raw logits (MSE) on
every training text the screen learns from (written + real train, 23,920 background pool
messages of training communities; nothing of dev, test or ../shared/external), each read in its
first 128 tokens as the teacher read it for these targets. It is then calibrated on written +
real dev by the recipe's rule, scored on every split beside the teacher in the same process
(fp32), and its transformer timed against the teacher's on real dev traffic (fp32, both cores).
AUG=1 adds copies with a neutral sentence around them (`with_context_copies`), PIECES=1 the
written messages' sentences and sentence-dropped versions (`with_pieces`), ROUND3=1 the messages
of corpora/round3 (and, with PIECES=1, their pieces; `round3_texts`).

Measured 2026-12-07 (shipped two-model soup as teacher; layers 1,3,5 start closest to it: logit
MSE 21 before training against 31-70 for 0,3,5 / 0,2,5 / 0,2,4 / 0,1,5 / 0,1,2; 2 epochs, bf16
autocast, 17-26 min on 2 cores). Macro-F1 / any-friction F1 / false alarms on none, fp32:

  model                         written test          real test            transformer (fp32)
  teacher (shipped, 6 layers)   0.777 / 0.926 / 4.4%  0.189 / 0.479 / 3.9%  172 msg/s
  student, 41,765 texts         0.691 / 0.840 / 7.3%  0.159 / 0.463 / 4.7%  1.96x
  + 4,805 context copies
    + 19,033 written pieces     0.741 / 0.903 / 6.9%  0.148 / 0.437 / 5.7%  1.84x
      + corpora/round3's 1,343
        messages and 9,506 of
        their pieces (35 min)   0.775 / 0.921 / 7.3%  0.156 / 0.465 / 6.1%  1.92x

A neutral opener before the seven clear messages of tests/test_default_model.py hides 3 of 7
for the teacher and the first student, 2 of 7 for the second (closer: 0, 2, 0).
Not shipped: both students are outside the quality rule (within 0.5-1 point macro-F1 on the
written and the real test split) by 3.6-8.6 points written and 1.5-4 points of real any-F1, and
add false alarms. The written pieces recovered 5 of the 8.6 written points, so the transfer set,
not the depth, is what the student lacks most: the written register has 3,114 training messages.
A student needs many more texts of that register (or the GPU-trained mpnet teacher's soft labels
over the whole pool) before three layers can carry the model.

Ninth session, ROUND3=1 (AUG=1 PIECES=1, 76,452 texts): with round 3 the student comes within
0.2 point of the teacher's written test macro-F1 (0.775 against 0.777; written dev 0.812 against
0.803), which confirms the written-register diagnosis above. It still fails, and dev alone says so:
written-dev false alarms 4.1% against 2.7%, real dev 3.8% against 2.2%, real-dev any-F1 0.363 against
0.422, so the dev rule is 0.587 against 0.612. On test that shows as 7.3% and 6.1% false alarms, over
both 5% floors. What it lacks now is real text: an unlabelled real pool far larger than the 23,920
background messages, read with the teacher's logits.
"""
import json
import math
import os
import random
import sys
import time

import numpy as np
import pandas as pd
import torch

from friction.labels import DEFAULT_LABELS
from friction.model.classifier import FrictionClassifier

IDS = [lab.id for lab in DEFAULT_LABELS]
STEP, CACHE = sys.argv[1], sys.argv[2]


def cached_texts() -> pd.DataFrame:
    """screen_conv.py's table of texts; the student trains on its train rows."""
    return pd.read_parquet(os.path.join(CACHE, "teacher.parquet"))


def student_of(teacher_dir: str, keep: list[int]) -> FrictionClassifier:
    model = FrictionClassifier.load(teacher_dir, precision="fp32", exact=True)
    bert = model.encoder_.model
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in keep])
    bert.config.num_hidden_layers = len(keep)
    return model


@torch.no_grad()
def first_window_logits(model: FrictionClassifier, texts: list[str]) -> np.ndarray:
    """Logits of each text's first max_length tokens: what the student reads in training."""
    pooled = model.encoder_.encode(list(texts), max_length=model.max_length)
    return model.head_(torch.from_numpy(pooled)).numpy()


def teacher_targets(teacher: FrictionClassifier, texts: list[str]) -> np.ndarray:
    path = os.path.join(CACHE, "first_window_logits.npy")
    if os.path.exists(path):
        return np.load(path)
    t0 = time.time()
    y = first_window_logits(teacher, texts)
    print(f"teacher targets: {len(texts)} texts in {time.time() - t0:.0f} s", flush=True)
    np.save(path, y)
    return y


def with_context_copies(rows: pd.DataFrame, target: np.ndarray, n_neutral: int = 2000) -> tuple[list[str], np.ndarray]:
    """AUG=1: copies of every text the teacher flags or a label marks (and of n_neutral others)
    with a neutral first sentence of an unflagged labelled training message before or after it,
    and the target of the text without it: the student learns that a greeting changes nothing."""
    from friction.model.training import first_sentences

    texts = rows.text.tolist()
    marked = (rows.flag | rows.friction).to_numpy()
    neutral = first_sentences(rows.text[rows.world.isin(["written", "real"]) & ~rows.friction & ~rows.flag])
    rng = random.Random(0)
    chosen = list(np.flatnonzero(marked)) + rng.sample(list(np.flatnonzero(~marked)), n_neutral)
    copies = []
    for i in chosen:
        extra = rng.choice(neutral)
        copies.append(f"{extra} {texts[i]}" if rng.random() < 0.5 else f"{texts[i]} {extra}")
    print(f"{len(copies)} copies with neutral context ({len(chosen) - n_neutral} flagged or labelled)", flush=True)
    return copies, target[chosen]


def with_pieces(rows: pd.DataFrame, teacher: FrictionClassifier) -> tuple[list[str], np.ndarray]:
    """PIECES=1: more text in the written register, where the student has only 3,114 messages to
    learn from: every multi-sentence written training message also read sentence by sentence
    and without each one sentence, each with the teacher's own logits for that piece."""
    from friction.model.sentences import split_sentences

    pieces = []
    for sents in split_sentences(rows.text[rows.world == "written"].tolist()):
        if len(sents) > 1:
            pieces += [x for x in sents if len(x.split()) >= 3]
            pieces += [" ".join(sents[:k] + sents[k + 1:]) for k in range(len(sents))]
    pieces = sorted(set(pieces) - set(rows.text))
    y = first_window_logits(teacher, pieces)
    print(f"{len(pieces)} pieces of written messages, teacher flags {(y > 0).any(1).mean():.2f}", flush=True)
    return pieces, y


def round3_texts(teacher: FrictionClassifier, pieces: bool) -> tuple[list[str], np.ndarray]:
    """ROUND3=1: the 1,343 messages of corpora/round3, written in registers closer to real mail and
    meetings (no split the student is scored on holds them), with the teacher's logits; with
    PIECES=1 their sentences and sentence-dropped versions as well."""
    from friction.corpus import load_corpus

    rows = load_corpus("corpora/round3").assign(world="written")
    texts = rows.text.tolist()
    y = first_window_logits(teacher, texts)
    print(f"{len(texts)} round-3 messages, teacher flags {(y > 0).any(1).mean():.2f}", flush=True)
    if pieces:
        more, more_y = with_pieces(rows, teacher)
        texts, y = texts + more, np.concatenate([y, more_y])
    return texts, y


def train(student: FrictionClassifier, texts: list[str], target: np.ndarray, epochs: int,
          lr: float = 1e-4, head_lr: float = 5e-4, bs: int = 32) -> list[float]:
    """MSE on the teacher's logits; otherwise FrictionClassifier's fine-tuning loop (its length
    batches, bf16 autocast, warm-up and linear decay, clipped gradients), which trains on labels."""
    from friction.model.classifier import length_batches

    enc, head = student.encoder_, student.head_
    enc.train()
    head.train()
    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": lr, "weight_decay": 0.01},
                             {"params": head.parameters(), "lr": head_lr, "weight_decay": 0.0}])
    rng = random.Random(0)
    lengths = [len(t) for t in texts]
    steps = epochs * math.ceil(len(texts) / bs)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    yt = torch.tensor(target)
    curve, t0, step = [], time.time(), 0
    for epoch in range(epochs):
        total, seen = 0.0, 0
        for batch in length_batches(lengths, bs, rng):
            x = enc.tokenize([texts[i] for i in batch], student.max_length)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                pooled = enc(x["input_ids"], x["attention_mask"])
            loss = torch.nn.functional.mse_loss(head(pooled.float()), yt[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            total += float(loss.detach()) * len(batch)
            seen += len(batch)
            step += 1
            if step % 200 == 0:
                print(f"  step {step}/{steps} loss {total / seen:.3f} {time.time() - t0:.0f} s", flush=True)
        curve.append(round(total / len(texts), 4))
        print(f"epoch {epoch + 1}: mse {curve[-1]}", flush=True)
    enc.eval()
    head.eval()
    return curve


def transformer_rate(model: FrictionClassifier, texts: list[str]) -> float:
    model.decision_function(texts[:64])
    t0 = time.perf_counter()
    model.decision_function(texts)
    return len(texts) / (time.perf_counter() - t0)


def figures(metrics: dict) -> dict:
    return {split: {"macro_f1": m["macro_f1"], "any_f1": m["any_friction"]["f1"], "fpr_none": m["fpr_none"]}
            for split, m in metrics.items() if split != "screen"}


if STEP == "layers":
    sample = random.Random(0).sample(cached_texts().query("split == 'train'").text.tolist(), 1024)
    teacher = FrictionClassifier.load("models/default", precision="fp32", exact=True)
    ref = first_window_logits(teacher, sample)
    for keep in ([0, 2, 4], [1, 3, 5], [0, 2, 5], [0, 3, 5], [0, 1, 5], [0, 1, 2]):
        s = first_window_logits(student_of("models/default", keep), sample)
        print(keep, "mse", round(float(((s - ref) ** 2).mean()), 3),
              "flag agreement", round(float(((s > 0).any(1) == (ref > 0).any(1)).mean()), 3), flush=True)

elif STEP == "train":
    from friction.corpus import label_matrix
    from friction.model.recipe import dev_frame, finish, load_recipe, world_splits
    from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool

    out, keep, epochs = sys.argv[3], [int(i) for i in sys.argv[4].split(",")], int(sys.argv[5])
    table = cached_texts()
    rows = table[table.split == "train"].reset_index(drop=True)
    texts = rows.text.tolist()
    teacher_bf16 = FrictionClassifier.load("models/default", precision="bf16", exact=True)  # targets only
    target = teacher_targets(teacher_bf16, texts)
    extra = []
    if os.environ.get("AUG"):
        extra.append(with_context_copies(rows, target))
    if os.environ.get("PIECES"):
        extra.append(with_pieces(rows, teacher_bf16))
    if os.environ.get("ROUND3"):
        extra.append(round3_texts(teacher_bf16, pieces=bool(os.environ.get("PIECES"))))
    for more_texts, more_target in extra:
        texts, target = texts + more_texts, np.concatenate([target, more_target])
    del teacher_bf16
    student = student_of("models/default", keep)
    t0 = time.time()
    curve = train(student, texts, target, epochs)
    seconds = round(time.time() - t0)
    print(f"trained in {seconds} s", flush=True)
    recipe = load_recipe("models/default/recipe.yaml")
    parts = world_splits(recipe, load_real_corpus(recipe["real"], pool=read_pool(DEFAULT_POOL)))
    dev = dev_frame(parts)
    student.calibrate(dev.text.tolist(), label_matrix(dev.label_list, IDS))  # the teacher's calibration until now
    student, metrics = finish([student], parts, thresholds="pooled", pooling="message", log=lambda *_: None)
    student.train_seconds_, student.loss_curve_ = seconds, curve
    student.save(out, metrics=metrics, extra={"student_of": "models/default", "kept_layers": keep})
    teacher = FrictionClassifier.load("models/default", precision="fp32", exact=True)
    _, tmetrics = finish([teacher], parts, thresholds="pooled", pooling="message", log=lambda *_: None)
    traffic = table[table.world == "traffic"].text.sample(1500, random_state=0).tolist()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    rates = {name: round(transformer_rate(m, traffic), 1) for name, m in (("teacher", teacher), ("student", student))}
    result = {"kept_layers": keep, "epochs": epochs, "train_seconds": seconds, "loss_curve": curve,
              "figures_fp32": {"teacher": figures(tmetrics), "student": figures(metrics)},
              "transformer_msg_per_s_fp32": rates, "speedup": round(rates["student"] / rates["teacher"], 2)}
    print(json.dumps(result, indent=1))
    with open(os.path.join(out, "distil_result.json"), "w") as f:
        json.dump(result, f, indent=1)
