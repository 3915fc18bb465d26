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

from .chat import read_slack_day, read_slack_export, read_teams, slack_roots
from .detect import FORMATS, detect
from .email_reader import read_eml, read_mbox, read_msg, read_pst
from .meetings import read_notes, read_transcript
from .roster import UNKNOWN, Roster
from .schema import COLUMNS, to_frame
from .sources import Source, iter_tree
from .summary import IngestSummary
from .table_input import parse_mapping, read_table_messages

__all__ = ["read_messages", "read_all", "IngestSummary", "Roster", "COLUMNS", "FORMATS", "parse_mapping"]


def _read_one(src: Source, fmt: str, summary: IngestSummary, mapping: dict | None) -> Iterator[dict]:
    if fmt == "mbox":
        return read_mbox(src, summary)
    if fmt == "eml":
        return read_eml(src, summary)
    if fmt == "msg":
        return read_msg(src, summary)
    if fmt == "pst":
        return read_pst(src, summary)
    if fmt == "teams":
        return read_teams(src, summary)
    if fmt == "slack":  # a lone channel-day file: the channel is its folder's name
        channel = src.parts[-2] if len(src.parts) > 1 else src.stem
        return read_slack_day(src, channel, {}, summary)
    if fmt in ("vtt", "srt"):
        return read_transcript(src, summary, fmt)
    if fmt == "notes":
        return read_notes(src, summary)
    if fmt in ("csv", "tsv", "jsonl", "parquet"):
        return read_table_messages(src, summary, fmt, mapping)
    raise ValueError(fmt)


def iter_rows(paths: Iterable[str], summary: IngestSummary, fmt: str | None = None,
              mapping: dict | None = None, exclude: set[str] | None = None) -> Iterator[dict]:
    """Raw row dicts from every file under paths, in a stable order."""
    for path in paths:
        for sources in iter_tree(path, summary, exclude):
            roots = slack_roots(sources) if fmt in (None, "slack") else set()
            for root in sorted(roots):
                yield from read_slack_export(root, sources, summary)
            in_export = tuple(f"{r}/" if r else "" for r in roots)
            for src in sources:
                if roots and any(src.rel.startswith(p) for p in in_export):
                    continue
                summary.files += 1
                try:
                    kind = fmt or detect(src)
                except OSError as exc:
                    summary.skip("unreadable file", src.name, detail=str(exc))
                    continue
                if kind == "empty":
                    summary.skip("empty file", src.name)
                    continue
                if kind is None:
                    summary.skip("unknown format", src.name)
                    continue
                if kind == "json":
                    reason, detail = _json_problem(src)
                    summary.skip(reason, src.name, detail=detail)
                    continue
                try:
                    yield from _read_one(src, kind, summary, mapping)
                except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
                    summary.skip(f"unreadable {kind} file", src.name, detail=f"{exc.__class__.__name__}: {exc}")


def _json_problem(src: Source) -> tuple[str, str]:
    """Why a JSON file that is neither Slack nor Teams cannot be read: (reason, detail)."""
    import json

    try:
        json.loads(src.read_bytes().decode("utf-8", errors="replace"))
    except ValueError as exc:
        return "invalid JSON", str(exc)
    return "unknown format", "JSON that is neither a Slack day file nor Teams messages"


def read_messages(paths: Iterable[str], *, fmt: str | None = None, roster: Roster | None = None,
                  mapping: dict | None = None, summary: IngestSummary | None = None,
                  chunk_size: int = 5000, exclude: Iterable[str] = ()) -> Iterator[pd.DataFrame]:
    """Stream the message table in chunks: cleaned, deduplicated by id, teams from the roster.
    Files in `exclude` (e.g. the roster itself) are not read as messages."""
    summary = summary if summary is not None else IngestSummary()
    roster = roster or Roster()
    seen: set[str] = set()
    rows: list[dict] = []
    excluded = {os.path.abspath(p) for p in exclude}
    for row in iter_rows(paths, summary, fmt, mapping, excluded):
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
        team = roster.team_of(row.get("author", ""), *keys)
        row["author_team"] = team if team != UNKNOWN else (row.get("author_team") or UNKNOWN)
        row["text"] = text
        summary.kept += 1
        summary.by_source[row.get("source", "")] += 1
        rows.append(row)
        if len(rows) >= chunk_size:
            yield to_frame(rows)
            rows = []
    if rows:
        yield to_frame(rows)


def read_all(paths: Iterable[str], **kwargs) -> pd.DataFrame:
    """The whole message table in memory (small inputs, tests)."""
    chunks = list(read_messages(paths, **kwargs))
    return pd.concat(chunks, ignore_index=True) if chunks else to_frame([])
