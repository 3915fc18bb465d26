"""Ingestion: every supported export format into one clean message table.

    >>> from friction.ingest import read_messages
    >>> for chunk in read_messages(["exports/"]): ...

`read_messages` streams DataFrame chunks (see `schema.COLUMNS`), so memory stays flat
however large the input; every skipped item is counted in the `IngestSummary`.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

import pandas as pd

from ..settings import current_settings
from .chat import read_slack_export, slack_roots
from .encoding import REPLACEMENT, decode_text
from .limits import Limits
from .registry import FORMATS, detect, read_source
from .roster import UNKNOWN, Roster
from .schema import COLUMNS, to_frame
from .sources import Source, iter_tree
from .summary import IngestSummary
from .table_input import parse_mapping

__all__ = ["read_messages", "read_all", "IngestSummary", "Roster", "COLUMNS", "FORMATS", "Limits", "parse_mapping"]


def iter_rows(paths: Iterable[str], summary: IngestSummary, fmt: str | None = None,
              mapping: dict | None = None, exclude: set[str] | None = None,
              limits: Limits | None = None) -> Iterator[dict]:
    """Raw row dicts from every file under paths, in a stable order. Whatever goes wrong in one
    file (or one Slack export) is one warning and a count; the other files are still read."""
    for path in paths:
        for sources in iter_tree(path, summary, exclude, limits):
            roots = slack_roots(sources) if fmt in (None, "slack") else set()
            for root in sorted(roots):
                try:
                    yield from read_slack_export(root, sources, summary)
                except Exception as exc:  # noqa: BLE001 - one bad export never stops the batch
                    summary.skip("unreadable Slack export", root or str(path), detail=f"{exc.__class__.__name__}: {exc}")
            in_export = tuple(f"{r}/" if r else "" for r in roots)
            for src in sources:
                if roots and any(src.rel.startswith(p) for p in in_export):
                    continue
                summary.files += 1
                try:
                    kind = fmt or detect(src)
                except Exception as exc:  # noqa: BLE001 - OSError, or a corrupt zip entry (zlib, CRC)
                    summary.skip("unreadable file", src.name, detail=f"{exc.__class__.__name__}: {exc}")
                    continue
                if kind == "empty":
                    summary.skip("empty file", src.name)
                    continue
                if kind is None:
                    summary.skip("unknown format", src.name)
                    continue
                if kind == "json":
                    try:
                        reason, detail = _json_problem(src)
                    except Exception as exc:  # noqa: BLE001 - unreadable entry
                        reason, detail = "unreadable file", f"{exc.__class__.__name__}: {exc}"
                    summary.skip(reason, src.name, detail=detail)
                    continue
                try:
                    yield from read_source(src, kind, summary, mapping)
                except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
                    summary.skip(f"unreadable {kind} file", src.name, detail=f"{exc.__class__.__name__}: {exc}")


def _json_problem(src: Source) -> tuple[str, str]:
    """Why a JSON file that is neither Slack nor Teams cannot be read: (reason, detail)."""
    import json

    try:
        json.loads(decode_text(src.read_bytes()))
    except ValueError as exc:
        return "invalid JSON", str(exc)
    except RecursionError:
        return "invalid JSON", "nested too deeply"
    return "unknown format", "JSON that is neither a Slack day file nor Teams messages"


def read_messages(paths: Iterable[str], *, fmt: str | None = None, roster: Roster | None = None,
                  mapping: dict | None = None, summary: IngestSummary | None = None,
                  chunk_size: int | None = None, exclude: Iterable[str] = (),
                  limits: Limits | None = None) -> Iterator[pd.DataFrame]:
    """Stream the message table in chunks: cleaned, deduplicated by id, teams from the roster.
    Files in `exclude` (e.g. the roster itself) are not read as messages. Text longer than
    `limits.max_chars` is cut; cut texts, undecodable bytes and unparseable timestamps are
    flagged in the summary (the rows are kept). Chunks hold `chunk_size` rows (default: the
    settings' ingest_chunk)."""
    chunk_size = chunk_size or current_settings().ingest_chunk
    summary = summary if summary is not None else IngestSummary()
    roster = roster or Roster()
    limits = limits or Limits()
    seen: set[str] = set()
    rows: list[dict] = []
    excluded = {os.path.abspath(p) for p in exclude}
    for row in iter_rows(paths, summary, fmt, mapping, excluded, limits):
        keys = row.pop("_keys", None) or []
        text = str(row.get("text") or "").strip()
        if not text:
            summary.skip("no new text (empty after cleaning)", warn=False)
            continue
        rid = str(row["id"])
        if rid in seen:
            summary.skip("duplicate", warn=False)
            continue
        seen.add(rid)
        origin, pos = str(row.get("origin_file", "")), row.get("origin_pos", "")
        if REPLACEMENT in text:
            summary.flag("undecodable bytes replaced", origin, pos, "not valid in the encoding it declares or UTF-8")
        if len(text) > limits.max_chars:
            summary.flag("text cut at the length cap", origin, pos,
                         f"{len(text):,} characters, kept {limits.max_chars:,}; see --max-chars")
            text = _cut_text(text, limits.max_chars)
        team = roster.team_of(row.get("author", ""), *keys)
        row["author_team"] = team if team != UNKNOWN else (row.get("author_team") or UNKNOWN)
        row["text"] = text
        summary.kept += 1
        summary.by_source[row.get("source", "")] += 1
        rows.append(row)
        if len(rows) >= chunk_size:
            yield _frame(rows, summary)
            rows = []
    if rows:
        yield _frame(rows, summary)


def _cut_text(text: str, max_chars: int) -> str:
    """The first max_chars characters, ending at a word boundary when one is near."""
    head = text[:max_chars]
    space = head.rfind(" ", max_chars - 200)
    return (head[:space] if space > 0 else head).rstrip()


def _frame(rows: list[dict], summary: IngestSummary) -> pd.DataFrame:
    """A chunk as a table; each timestamp that could not be parsed is flagged (left empty)."""
    bad: list[int] = []
    frame = to_frame(rows, bad)
    for i in bad:
        summary.flag("unparseable timestamp (left empty)", str(rows[i].get("origin_file", "")),
                     rows[i].get("origin_pos", ""), repr(rows[i].get("timestamp"))[:80])
    return frame


def read_all(paths: Iterable[str], **kwargs) -> pd.DataFrame:
    """The whole message table in memory (small inputs, tests)."""
    chunks = list(read_messages(paths, **kwargs))
    return pd.concat(chunks, ignore_index=True) if chunks else to_frame([])
