"""The labelled corpus: load it, validate it against the label set, and select splits.

Format (shared/taxonomy.md): CSV or JSONL with `text` and `labels` (';'-separated ids, empty for
none), optional `id, timestamp, channel, author, team/author_team, target_team, thread_id, org,
hard_negative`. A folder is read file by file; `splits.json` beside the files maps organisations
to train/dev/test.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .labels import DEFAULT_LABEL_IDS, parse_labels
from .tables import read_table

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "train"


def load_corpus(path: str | Path = DEFAULT_CORPUS, label_ids: Sequence[str] | None = None,
                renames: dict[str, str] | None = None) -> pd.DataFrame:
    """All labelled rows as one DataFrame with a `label_list` column (and `split` when known).

    Unknown label ids raise ValueError naming the file and row, so a typo never trains silently.
    """
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".csv") and not p.name.startswith("_")) \
        if path.is_dir() else [path]
    frames = []
    for f in files:
        df = read_table(str(f))
        if "pointer" in df.columns and "text" not in df.columns:
            df = _join_real_text(f)
        if "text" not in df.columns or "labels" not in df.columns:
            raise ValueError(f"{f}: a labelled file needs 'text' and 'labels' columns")
        df["source_file"] = f.name
        frames.append(df)
    if not frames:
        raise ValueError(f"{path}: no .jsonl or .csv files with labelled messages")
    df = pd.concat(frames, ignore_index=True)
    if "author_team" not in df.columns and "team" in df.columns:
        df["author_team"] = df["team"]
    for col in ("id", "org", "channel", "author_team", "target_team", "thread_id"):
        if col not in df.columns:
            df[col] = ""
        df[col] = df[col].fillna("").astype(str)
    df["hard_negative"] = df.get("hard_negative", False)
    df["hard_negative"] = df["hard_negative"].map(lambda v: str(v).lower() in ("true", "1", "yes"))
    renames = renames or {}
    allowed = set(label_ids or DEFAULT_LABEL_IDS)
    lists = []
    for i, cell in enumerate(df["labels"]):
        labs = [renames.get(lab, lab) for lab in parse_labels(cell)]
        bad = [lab for lab in labs if lab not in allowed and lab not in renames]
        if bad and label_ids is None:
            raise ValueError(f"{df.source_file.iat[i]} row {i + 1}: unknown label(s) {', '.join(bad)}")
        lists.append(sorted(set(lab for lab in labs if lab in allowed)))
    df["label_list"] = lists
    df["text"] = df["text"].fillna("").astype(str)
    splits = path / "splits.json" if path.is_dir() else path.parent / "splits.json"
    if splits.exists() and "split" not in df.columns:
        by_org = {org: name for name, orgs in json.loads(splits.read_text()).items() for org in orgs}
        df["split"] = df["org"].map(by_org).fillna("")
    return df


def load_corpora(paths: str | Path | Sequence[str | Path]) -> pd.DataFrame:
    """One or several corpus folders as one frame (each folder's splits.json splits its own
    organisations), so a new writing round can live in its own folder and be mixed in by a recipe
    without changing what the folders before it trained. Ids must stay unique across folders."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    df = pd.concat([load_corpus(p) for p in paths], ignore_index=True)
    dup = df.loc[df["id"].ne("") & df["id"].duplicated(), "id"]
    if len(dup):
        raise ValueError(f"{', '.join(map(str, paths))}: message id {dup.iat[0]} is in more than one corpus")
    return df


def _join_real_text(path: Path) -> pd.DataFrame:
    """A label file of pointers into the real-text pool (corpora/real/labels.csv): its text is
    joined from ../shared/external_train, which the repository never holds."""
    from .realtext import load_real_corpus

    try:
        df = load_real_corpus(path)
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: holds pointers into the real-text pool, which is absent ({exc})") from exc
    return df.drop(columns=["label_list", "hard_negative"])


def label_matrix(label_lists: Sequence[Sequence[str]], label_ids: Sequence[str]) -> np.ndarray:
    """0/1 matrix (n, n_labels)."""
    index = {lab: j for j, lab in enumerate(label_ids)}
    y = np.zeros((len(label_lists), len(label_ids)), dtype=np.int8)
    for i, labs in enumerate(label_lists):
        for lab in labs:
            if lab in index:
                y[i, index[lab]] = 1
    return y


def previous_in_thread(df: pd.DataFrame) -> list[str]:
    """For each row, the text of the message before it in its thread ('' for the first): by
    timestamp when the table has one, else in file order."""
    order = df.sort_values("timestamp", kind="stable").index if "timestamp" in df.columns else df.index
    prev: dict[str, str] = {}
    ctx = pd.Series("", index=df.index, dtype=object)
    for i in order:
        tid = str(df.at[i, "thread_id"] or "")
        if tid:
            ctx.at[i] = prev.get(tid, "")
            prev[tid] = str(df.at[i, "text"] or "")
    return ctx.tolist()


def data_hash(df: pd.DataFrame) -> str:
    """sha256 of the texts and labels a model was trained on, for its model card."""
    h = hashlib.sha256()
    for text, labs in zip(df["text"], df["label_list"]):
        h.update(text.encode("utf-8"))
        h.update(b"\x1f" + ";".join(labs).encode() + b"\x1e")
    return h.hexdigest()
