"""The real-text training pool: public mail, chat and meeting talk read from
``../shared/external_train/`` at training time, never copied into the repository.

Each message gets a stable key (``source:file:item``) so a label file can point at it without
holding its text; `read_pool` yields the same text for the same key on every run, so labels made
by annotators join back to what they read (`join_labels` checks that with a hash of the text).

Splits go by community, not by message (`split_of`): the real test split is made of communities
(Slack workspaces, mailing lists, committees, mailbox owners, PR projects, meetings) that no
training or dev message comes from, so its figures say how the model does on strangers.
"""

from __future__ import annotations

import csv
import email
import hashlib
import html
import json
import re
import xml.etree.ElementTree as ET
from email import policy
from pathlib import Path
from typing import Iterator

import pandas as pd

from .ingest.clean import clean_email_body
from .ingest.email_reader import body_text

DEFAULT_POOL = Path(__file__).resolve().parents[2] / "shared" / "external_train"
#: Annotators read and the model trains on at most this much of a message (the model reads the
#: first windows of a long text; a label should be about what was read).
MAX_CHARS = 1500
SOURCES = ("enron", "kernel", "slack", "committee", "icsi", "premo")

_SLACK_MENTION = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")
_MBOX_SEP = re.compile(rb"^From mboxrd@z Thu Jan  1 00:00:00 1970$", re.M)


def text_hash(text: str) -> str:
    """Short hash of a message's text, kept beside its labels to detect a changed join."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def pointer(key: str) -> str:
    """What the repository stores instead of a key: pool keys hold mailbox owners' names (Enron
    maildir paths) and Message-IDs, so a label file keeps only this hash and joins through it."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def public_community(source: str, community: str) -> str:
    """A community name safe to ship: Enron mailboxes are people, so they become a hash."""
    return f"mailbox-{pointer(community)[:8]}" if source == "enron" else community.split("/")[0]


def _cap(text: str) -> str:
    text = text.strip()
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_CHARS)
    return text[:cut if cut > MAX_CHARS // 2 else MAX_CHARS].rstrip() + " …"


def _bucket(name: str) -> float:
    """A stable number in [0, 1) for a community name."""
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) / 2**32


def split_of(source: str, community: str) -> str:
    """train / dev / test for a community. Whole communities go to one split; where a source has
    one community per split by nature (Slack workspaces, mailing lists) it is named.

    Committees split by meeting, like mailboxes by owner: the Canadian COVID committee was first held
    out whole, which made one committee 74% of the real test's friction and left training almost no
    partisan questioning to learn from (46 positives); its meetings now go to train and test by hash."""
    named = {("slack", "clojurians"): "train", ("slack", "elmlang"): "dev", ("slack", "racket"): "test",
             ("kernel", "ksummit-discuss"): "test"}
    if (source, community) in named:
        return named[(source, community)]
    b = _bucket(f"{source}:{community}")
    if source == "kernel" or community.startswith("education"):  # by thread / Welsh meeting; test is named
        return "dev" if b < 0.2 else "train"
    return "train" if b < 0.6 else ("dev" if b < 0.8 else "test")


def _row(key: str, source: str, community: str, channel: str, thread: str, text: str, **extra) -> dict:
    text = _cap(text)
    return {"key": key, "source": source, "community": community, "split": split_of(source, community),
            "channel": channel, "thread": thread, "text": text, **extra}


def read_enron(root: Path) -> Iterator[dict]:
    """AESLC bodies, minus the ids that overlap the evaluation set. Community = mailbox owner."""
    folder = root / "enron_aeslc"
    with open(folder / "overlap_with_berkeley.csv", newline="") as f:
        banned = {r.get("aeslc_id") or r.get("id") or next(iter(r.values())) for r in csv.DictReader(f)}
    for name in ("train", "dev", "test"):
        with open(folder / f"{name}.jsonl", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                if r["id"] in banned:
                    continue
                text = clean_email_body(r["body"])
                if text.strip():
                    yield _row(f"enron:{r['id']}", "enron", r["maildir_user"], "email",
                               r.get("subject", ""), text, folder=r["maildir_folder"])


def read_kernel(root: Path) -> Iterator[dict]:
    """Kernel maintainers' lists: new text of each non-patch message. Community = the list for
    ksummit-discuss, the thread root for the newer list (it is split by thread)."""
    folder = root / "maillist_kernel_ksummit"
    for mbox in sorted(folder.glob("*.mbox")):
        lst = "ksummit-discuss" if "discuss" in mbox.name else "ksummit"
        index = pd.read_csv(mbox.with_suffix(".index.csv"), dtype=str).fillna("")
        parent = dict(zip(index["message_id"], index["in_reply_to"]))

        def root_of(mid: str) -> str:
            seen = set()
            while parent.get(mid) and parent[mid] in parent and mid not in seen:
                seen.add(mid)
                mid = parent[mid]
            return mid

        raw = mbox.read_bytes()
        chunks = [c for c in _MBOX_SEP.split(raw) if c.strip()]
        seen_ids: set[str] = set()
        for n, (chunk, meta) in enumerate(zip(chunks, index.itertuples())):
            if meta.is_patch == "1" or meta.message_id in seen_ids:
                continue
            seen_ids.add(meta.message_id)
            body = chunk.lstrip(b"\n").replace(b"\n>From ", b"\nFrom ")
            msg = email.message_from_bytes(body, policy=policy.compat32)
            text = clean_email_body(body_text(msg))
            if not text.strip():
                continue
            thread = root_of(meta.message_id)
            community = lst if lst == "ksummit-discuss" else f"ksummit/{thread}"
            yield _row(f"kernel:{lst}:{meta.message_id}", "kernel", community, "email", thread, text,
                       is_reply=bool(meta.in_reply_to))


def read_slack(root: Path) -> Iterator[dict]:
    """Slack developer communities. Community = workspace (clojurians, elmlang, racket)."""
    for path in sorted((root / "chat_slack_disentangled").glob("*.xml")):
        tree = ET.parse(path)
        team = tree.findtext("team_domain") or path.name.split("_")[0]
        for i, m in enumerate(tree.iter("message")):
            text = html.unescape(m.findtext("text") or "")
            text = _SLACK_MENTION.sub(lambda mm: "@" + mm.group(1), text)
            if text.strip():
                yield _row(f"slack:{path.stem}:{i}", "slack", team, "chat",
                           f"{path.stem}:{m.get('conversation_id', '')}", text)


def _meeting_turns(folder: Path, source: str, community_of) -> Iterator[dict]:
    for path in sorted(folder.glob("*.json")):
        turns = json.loads(path.read_text(encoding="utf-8")).get("meeting_transcripts", [])
        for i, t in enumerate(turns):
            text = (t.get("content") or "").strip()
            if text:
                yield _row(f"{source}:{path.stem}:{i}", source, community_of(path.stem), "meeting", path.stem, text)


def read_committee(root: Path) -> Iterator[dict]:
    """Committee turns. Community = one meeting (covid_N of the Canadian COVID committee, education_N
    of the Welsh one)."""
    return _meeting_turns(root / "meetings_qmsum_committee", "committee", lambda stem: stem)


def read_icsi(root: Path) -> Iterator[dict]:
    """ICSI research meetings. Community = the meeting."""
    folder = root / "meetings_qmsum_icsi"
    folder = next((p for p in folder.iterdir() if p.is_dir()), folder)
    return _meeting_turns(folder, "icsi", lambda stem: stem)


def read_premo(root: Path) -> Iterator[dict]:
    """GitHub PR comments. Community = the project. Keeps the raters' context-aware polarity, a
    sampling signal only (it rates emotion, not our labels)."""
    items = json.loads((root / "github_pr_premo" / "dataset.json").read_text(encoding="utf-8"))
    for i, it in enumerate(items):
        text = (it.get("raw_message") or "").strip()
        agg = it.get("part2_aggregate") or "{}"
        polarity = re.search(r"'polarity': '(\w+)'", agg) if isinstance(agg, str) else None
        if text:
            yield _row(f"premo:{i}", "premo", it.get("project", ""), "chat", it.get("message_url", ""), text,
                       polarity=(polarity.group(1) if polarity else (agg or {}).get("polarity", "")))


READERS = {"enron": read_enron, "kernel": read_kernel, "slack": read_slack,
           "committee": read_committee, "icsi": read_icsi, "premo": read_premo}


def read_pool(root: str | Path = DEFAULT_POOL, sources: tuple[str, ...] = SOURCES) -> pd.DataFrame:
    """Every message of the pool as one DataFrame (key, source, community, split, channel, thread,
    text, ...). Raises FileNotFoundError when the pool is absent, so callers can skip."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: the real-text training pool is not here")
    rows = [r for s in sources for r in READERS[s](root)]
    df = pd.DataFrame(rows)
    return df.drop_duplicates("key").reset_index(drop=True)


def join_labels(labels: pd.DataFrame, pool: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Labels (pointer, labels, text_sha1, ...) joined to the pool's text. Returns the joined rows and
    how many labelled keys were missing or whose text changed since it was labelled (dropped)."""
    cols = [c for c in ("text", "source", "community", "split", "channel", "thread") if c in pool.columns]
    pool = pool[cols].assign(pointer=pool["key"].map(pointer))
    joined = labels.drop(columns=[c for c in cols if c in labels.columns and c != "text_sha1"]) \
        .merge(pool, on="pointer", how="inner")
    if "text_sha1" in joined.columns:
        same = joined["text"].map(text_hash) == joined["text_sha1"]
        joined = joined[same]
    return joined.reset_index(drop=True), len(labels) - len(joined)


DEFAULT_LABELS_FILE = Path(__file__).resolve().parents[1] / "corpora" / "real" / "labels.csv"


def load_real_corpus(labels: str | Path = DEFAULT_LABELS_FILE, root: str | Path = DEFAULT_POOL,
                     pool: pd.DataFrame | None = None) -> pd.DataFrame:
    """The labelled real messages with their text joined from the pool, in `load_corpus`'s shape
    (text, label_list, split, org = community, channel, hard_negative), plus source and stratum.
    `attrs["dropped"]` counts labelled rows whose text is missing or changed since labelling."""
    from .labels import parse_labels

    lab = pd.read_csv(labels, dtype=str, keep_default_na=False)
    pool = read_pool(root) if pool is None else pool
    df, dropped = join_labels(lab, pool)
    df["label_list"] = [sorted(set(parse_labels(c))) for c in df["labels"]]
    df["org"] = df["community"].astype(str)
    df["hard_negative"] = False
    df.attrs["dropped"] = dropped
    return df
