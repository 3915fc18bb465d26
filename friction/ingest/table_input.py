"""Tables of messages (CSV, JSONL, Parquet) with a text column, including our own output."""

from __future__ import annotations

import hashlib
from typing import Iterator

import pandas as pd

from ..tables import iter_table
from .encoding import text_encoding
from .schema import COLUMNS
from .sources import Source
from .summary import IngestSummary


def parse_mapping(spec: str | None) -> dict[str, str]:
    """'text=body,author=sender' -> {'body': 'text', 'sender': 'author'} (input name -> ours)."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in (spec or "").split(","))):
        ours, _, theirs = pair.partition("=")
        if not theirs or ours.strip() not in COLUMNS:
            raise ValueError(f"--map {pair!r}: expected OURS=THEIRS with OURS one of {', '.join(COLUMNS)}")
        out[theirs.strip()] = ours.strip()
    return out


def read_table_messages(src: Source, summary: IngestSummary, fmt: str,
                        mapping: dict[str, str] | None = None) -> Iterator[dict]:
    """Rows of a table; `text` is required, every other known column is optional."""
    pos = 0
    try:
        encoding = text_encoding(src.head(4))
        with src.open() as fh:
            for chunk in iter_table(fh, fmt, encoding=encoding):
                chunk = chunk.rename(columns=mapping or {})
                if "text" not in chunk.columns:
                    summary.skip("table has no 'text' column (use --map text=COLUMN)", src.name)
                    return
                keep = [c for c in COLUMNS if c in chunk.columns]
                for rec in chunk[keep].to_dict("records"):
                    pos += 1
                    summary.read += 1
                    row = {k: ("" if _missing(v) else v) for k, v in rec.items()}
                    if not row.get("id"):
                        row["id"] = row_id(row, src.stem, pos)
                    row.setdefault("source", "table")
                    row.setdefault("channel", "unknown")
                    row["origin_file"] = row.get("origin_file") or src.name
                    row["origin_pos"] = row.get("origin_pos") or pos
                    row["_keys"] = [row.get("author", "")]
                    yield row
    except (ValueError, OSError) as exc:
        summary.skip(f"unreadable {fmt} table", src.name, detail=f"{_short(exc)}")
    except Exception as exc:  # noqa: BLE001 - pyarrow/pandas raise many types on corrupt files
        summary.skip(f"unreadable {fmt} table", src.name, detail=f"{exc.__class__.__name__}: {_short(exc)}")


_ID_FIELDS = ("author", "timestamp", "channel", "recipients", "thread_id", "subject", "text")


def row_id(row: dict, stem: str, pos: int) -> str:
    """Id of a table row without one: a hash of its content, so that overlapping exports (a
    quarter's file and the year's) give a message the same id and two different rows never share
    one. Without a timestamp the content alone cannot tell two "ok" rows apart, so the file name
    and row number join the hash."""
    key = "\x1f".join(str(row.get(c, "")) for c in _ID_FIELDS)
    if not str(row.get("timestamp", "")).strip():
        key += f"\x1f{stem}\x1f{pos}"
    return "table:" + hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()[:20]


def _missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__
