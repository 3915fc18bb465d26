"""Flag rates of a friction model on real public text written by strangers (evaluation only).

The datasets live outside the repository (``../shared/external``; see each folder's SOURCE.md).
They are never used to train or tune anything, and nothing from them is copied into the repo:
these functions read them and compute aggregate figures; `scripts/eval_external.py` prints them.

Groups ("flag rate" = share of texts with at least one label predicted): Enron email with a
hostile tone label vs none; ToxiCR code review toxic vs clean; Stanford politeness bottom vs top
quartile; STRUDEL GitHub toxic vs non-toxic; ordinary chatter (Ubuntu IRC, AMI meetings) for
false alarms. Goal: hostile groups flagged at least GOAL_RATIO times as often as their neutral
counterparts, chatter flagged at most GOAL_CHATTER of the time.
"""

from __future__ import annotations

import csv
import email
import glob
import html
import json
import math
import os
import random
import re
import sys
import time
from email import policy

from .ingest.clean import clean_email_body
from .trends import wilson

SEED = 13
MAX_CHARS = 2000
HOSTILE_TONES = {"4.13", "4.16", "4.19"}
MIN_WORDS = 4
IRC_BOTS = {"ubotu", "ubottu", "ubot5", "ubot2", "meetingology", "mootbot", "chanserv", "nickserv"}
GOAL_RATIO = 4.0
GOAL_CHATTER = 0.03


def interval(k: int, n: int) -> list[float]:
    """The 95% Wilson interval of k/n as two floats (NaN when n is 0), the report's interval."""
    lo, hi = wilson(k, n)
    return [float(lo), float(hi)]


# ---------------------------------------------------------------- helpers
def _sample(texts: list[str], limit: int | None, seed: int = SEED) -> list[str]:
    """At most ``limit`` texts, a fixed-seed random sample (order of the input kept)."""
    if limit is None or len(texts) <= limit:
        return list(texts)
    keep = sorted(random.Random(seed).sample(range(len(texts)), limit))
    return [texts[i] for i in keep]


def _dedupe(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _words(text: str) -> int:
    return len(text.split())


def _read_csv(path: str) -> list[dict]:
    csv.field_size_limit(sys.maxsize)  # some texts exceed csv's 128 KiB field default
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- loaders (no model needed)
def _plain_body(msg) -> str:
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    if part is None or part.get_content_maintype() != "text":
        return ""
    raw = part.get_payload(decode=True) or b""
    return raw.decode(part.get_content_charset() or "latin-1", "replace")


def load_enron(external: str, limit: int | None = None) -> dict[str, list[str]]:
    """{'hostile': [...], 'neutral': [...]} cleaned Enron bodies (empty ones skipped)."""
    base = os.path.join(external, "enron_berkeley_categories")
    hostile, neutral = [], []
    for row in _read_csv(os.path.join(base, "labels.csv")):
        tones = {t.strip() for t in (row.get("tone") or "").split(";") if t.strip()}
        if tones & HOSTILE_TONES:
            group = hostile
        elif not tones:
            group = neutral
        else:
            continue
        with open(os.path.join(base, row["path"]), "rb") as f:
            msg = email.message_from_binary_file(f, policy=policy.compat32)
        body = clean_email_body(_plain_body(msg)).strip()
        if body:
            group.append(body)
    return {"hostile": _sample(hostile, limit), "neutral": _sample(neutral, limit)}


def load_toxicr(external: str, limit: int | None = None) -> dict[str, list[str]]:
    """{'toxic': [...], 'clean': [...]}: distinct texts; texts labelled both ways are dropped."""
    labels: dict[str, set[str]] = {}
    for row in _read_csv(os.path.join(external, "toxicr_code_review", "code-review-dataset-full.csv")):
        text = (row.get("message") or "").strip()
        flag = (row.get("is_toxic") or "").strip()
        if text and flag in ("0", "1"):
            labels.setdefault(text, set()).add(flag)
    toxic = [t for t, s in labels.items() if s == {"1"}]
    clean = [t for t, s in labels.items() if s == {"0"}]
    return {"toxic": _sample(toxic, limit), "clean": _sample(clean, limit)}


def _quartiles(values: list[float]) -> tuple[float, float]:
    import numpy as np

    q1, q3 = np.percentile(np.asarray(values, dtype=float), [25, 75])
    return float(q1), float(q3)


def load_politeness(external: str, limit: int | None = None) -> dict[str, list[str]]:
    """{'impolite': [...], 'polite': [...]}: bottom / top quartile of the normalized score, per file."""
    impolite, polite = [], []
    for name in ("wikipedia.annotated.csv", "stack-exchange.annotated.csv"):
        rows = []
        for row in _read_csv(os.path.join(external, "stanford_politeness", name)):
            try:
                score = float(row["Normalized Score"])
            except (KeyError, TypeError, ValueError):
                continue
            text = (row.get("Request") or "").strip()
            if text:
                rows.append((text, score))
        q1, q3 = _quartiles([s for _, s in rows])
        impolite += [t for t, s in rows if s <= q1]
        polite += [t for t, s in rows if s >= q3]
    return {"impolite": _sample(_dedupe(impolite), limit), "polite": _sample(_dedupe(polite), limit)}


def load_strudel(external: str, limit: int | None = None) -> dict[str, list[str]]:
    """{'toxic': [...], 'non_toxic': [...]}: GitHub issue comments (train_comments.csv), HTML-unescaped."""
    toxic, other = [], []
    for row in _read_csv(os.path.join(external, "strudel_github_toxicity", "train_comments.csv")):
        text = html.unescape(row.get("text") or "").strip()
        flag = (row.get("toxicity") or "").strip().lower()
        if not text:
            continue
        if flag == "y":
            toxic.append(text)
        elif flag == "n":
            other.append(text)
    return {"toxic": _sample(toxic, limit), "non_toxic": _sample(other, limit)}


_IRC_RAW = re.compile(r"^\[\d{1,2}:\d{2}(?::\d{2})?\]\s+<([^>]+)>\s?(.*)$")
_IRC_NEW = re.compile(r"^\S+\s+\d{4}-\d{2}-\d{2}\s+\[\d{1,2}:\d{2}(?::\d{2})?\]\s+<([^>]+)>\s?(.*)$")


def _irc_text(line: str, pattern: re.Pattern) -> str | None:
    """The message of a `[time] <nick> text` line; None for system/action/bot lines."""
    m = pattern.match(line.rstrip("\n"))
    if not m:
        return None  # `=== x has joined`, `* nick does something`, blank lines
    nick, text = m.group(1).strip().lstrip("@+").lower(), m.group(2).strip()
    if nick in IRC_BOTS:
        return None
    return text


def load_irc(external: str, limit: int | None = None) -> list[str]:
    """Ubuntu IRC message lines of at least 4 words: #ubuntu dev/test logs + #ubuntu-meeting."""
    base = os.path.join(external, "chat_irc_ubuntu")
    files = [(p, _IRC_RAW) for sub in ("dev", "test") for p in sorted(glob.glob(os.path.join(base, sub, "*.raw.txt")))]
    files += [(p, _IRC_NEW) for p in sorted(glob.glob(os.path.join(base, "new-domains", "ubuntu-meeting.*.ascii.txt")))]
    texts = []
    for path, pattern in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                text = _irc_text(line, pattern)
                if text and _words(text) >= MIN_WORDS:
                    texts.append(text)
    return _sample(texts, limit)


_AMI_MARK = re.compile(r"\{(?:disfmarker|vocalsound|pause|gap|comment|nonvocalsound)\}|\{[a-z]+\}")


def _ami_text(content: str) -> str:
    """Drop transcription marks and undo the space-before-punctuation tokenisation."""
    text = _AMI_MARK.sub(" ", content or "")
    text = re.sub(r"\s+([.,?!;:])", r"\1", text)
    text = re.sub(r"\s+('(?:s|m|re|ve|ll|d|t)\b|n't\b)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def load_ami(external: str, limit: int | None = None) -> list[str]:
    """AMI product-design meeting speaker turns of at least 4 words."""
    texts = []
    for path in sorted(glob.glob(os.path.join(external, "meetings_qmsum", "ami_product", "*.json"))):
        with open(path, encoding="utf-8") as f:
            meeting = json.load(f)
        for turn in meeting.get("meeting_transcripts", []):
            text = _ami_text(turn.get("content", ""))
            if _words(text) >= MIN_WORDS:
                texts.append(text)
    return _sample(texts, limit)


def load_groups(external: str, limit: int | None = 2000, chatter_limit: int | None = 3000) -> list[dict]:
    """All groups, in table order. Each: {key, dataset, group, role, pair, relevant, texts}.

    role is 'hostile', 'neutral' or 'chatter'; pair links a hostile group to its neutral one.
    """
    out = []

    def add(key, dataset, group, role, pair, relevant, texts):
        out.append({"key": key, "dataset": dataset, "group": group, "role": role, "pair": pair,
                    "relevant": relevant, "texts": texts})

    g = load_enron(external, limit)
    add("enron_hostile", "Enron email", "hostile tone (4.13/4.16/4.19)", "hostile", "enron", None, g["hostile"])
    add("enron_neutral", "Enron email", "no tone label", "neutral", "enron", None, g["neutral"])
    g = load_toxicr(external, limit)
    add("toxicr_toxic", "ToxiCR code review", "toxic", "hostile", "toxicr", "culture_clash", g["toxic"])
    add("toxicr_clean", "ToxiCR code review", "non-toxic", "neutral", "toxicr", "culture_clash", g["clean"])
    g = load_politeness(external, limit)
    add("politeness_impolite", "Stanford politeness", "impolite (bottom quartile)", "hostile", "politeness",
        "culture_clash", g["impolite"])
    add("politeness_polite", "Stanford politeness", "polite (top quartile)", "neutral", "politeness",
        "culture_clash", g["polite"])
    g = load_strudel(external, limit)
    add("strudel_toxic", "STRUDEL GitHub", "toxic", "hostile", "strudel", None, g["toxic"])
    add("strudel_non_toxic", "STRUDEL GitHub", "non-toxic", "neutral", "strudel", None, g["non_toxic"])
    add("irc_ubuntu", "Ubuntu IRC", "chat lines (>= 4 words)", "chatter", None, None, load_irc(external, chatter_limit))
    add("ami_meetings", "AMI meetings", "speaker turns (>= 4 words)", "chatter", None, None,
        load_ami(external, chatter_limit))
    return out


# ---------------------------------------------------------------- figures
def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return None
    if b == 0:
        return math.inf if a > 0 else None
    return a / b


def score_groups(model, groups: list[dict], progress: bool = True) -> list[dict]:
    import numpy as np

    label_ids = list(model.label_ids)
    thresholds = np.asarray(model.thresholds_)
    results = []
    for g in groups:
        texts = [t[:MAX_CHARS] for t in g["texts"]]
        t0 = time.time()
        if texts:
            flags = model.predict_proba(texts) >= thresholds
        else:
            flags = np.zeros((0, len(label_ids)), dtype=bool)
        dt = time.time() - t0
        n = len(texts)
        k_any = int(flags.any(axis=1).sum())
        per_label = {lid: (int(flags[:, j].sum()) / n if n else float("nan")) for j, lid in enumerate(label_ids)}
        rel = g["relevant"]
        if rel is not None and rel not in label_ids:
            rel = None
        k_rel = int(flags[:, label_ids.index(rel)].sum()) if rel else None
        r = {k: g[k] for k in ("key", "dataset", "group", "role", "pair")}
        r.update({
            "relevant_label": rel,
            "n": n,
            "flagged": k_any,
            "flag_rate": k_any / n if n else float("nan"),
            "flag_rate_ci95": interval(k_any, n),
            "relevant_flagged": k_rel,
            "relevant_rate": (k_rel / n if n else float("nan")) if rel else None,
            "label_rates": per_label,
            "seconds": round(dt, 1),
        })
        results.append(r)
        if progress:
            print(f"  {g['key']:<22} n={n:>5}  flag={r['flag_rate']:.1%}  ({n / dt if dt else 0:.0f} texts/s)",
                  file=sys.stderr, flush=True)
    by_pair = {}
    for r in results:
        if r["pair"]:
            by_pair.setdefault(r["pair"], {})[r["role"]] = r
    for r in results:
        r["ratio"] = r["relevant_ratio"] = None
        if r["role"] == "hostile" and "neutral" in by_pair.get(r["pair"], {}):
            neu = by_pair[r["pair"]]["neutral"]
            r["ratio"] = _ratio(r["flag_rate"], neu["flag_rate"])
            r["relevant_ratio"] = _ratio(r["relevant_rate"], neu["relevant_rate"])
    return results


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _times(x: float | None) -> str:
    if x is None:
        return "–"
    return "∞" if math.isinf(x) else f"{x:.1f}×"


def markdown_table(results: list[dict]) -> str:
    lines = ["| group | n | flag rate (95% CI) | relevant-label rate | ratio hostile/neutral |",
             "|---|---:|---:|---:|---:|"]
    for r in results:
        lo, hi = r["flag_rate_ci95"]
        ci = "" if math.isnan(lo) else f" ({100 * lo:.1f}–{100 * hi:.1f})"
        rel = f"{_pct(r['relevant_rate'])} {r['relevant_label']}" if r["relevant_label"] else "–"
        ratio = _times(r["ratio"])
        if r["relevant_ratio"] is not None:
            ratio += f" ({_times(r['relevant_ratio'])} {r['relevant_label']})"
        lines.append(f"| {r['dataset']}: {r['group']} | {r['n']} | {_pct(r['flag_rate'])}{ci} | {rel} | {ratio} |")
    return "\n".join(lines)


def goal_summary(results: list[dict]) -> str:
    pairs = [r for r in results if r["role"] == "hostile"]
    met = [r for r in pairs if r["ratio"] is not None and r["ratio"] >= GOAL_RATIO]
    chat = [r for r in results if r["role"] == "chatter"]
    chat_ok = [r for r in chat if r["n"] and r["flag_rate"] <= GOAL_CHATTER]
    out = [f"Goal hostile/neutral >= {GOAL_RATIO:.0f}x: met by {len(met)}/{len(pairs)} pairs"
           + (f" ({', '.join(r['dataset'] for r in met)})" if met else "") + ".",
           f"Goal chatter flag rate <= {100 * GOAL_CHATTER:.0f}%: met by {len(chat_ok)}/{len(chat)} groups"
           + "".join(f"; {r['dataset']} {_pct(r['flag_rate'])}" for r in chat) + "."]
    return "\n".join(out)


def json_safe(obj):
    """The figures with NaN and infinity as null and floats rounded, so json.dump writes valid JSON."""
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else round(obj, 6)
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
