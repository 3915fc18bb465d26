"""The one table of input formats: each format's name, how it is recognised, and its reader.

`--format` offers `FORMATS`, `detect` walks the table's detectors in order, and `read_source`
dispatches through it, so a new format is one row here. Every reader has one signature,
`read(src, summary, mapping) -> row dicts`; `mapping` (column names) matters to tables only.
A Slack export folder or zip is found before this table is consulted (`chat.slack_roots`); the
`slack` row reads a lone channel-day file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from .chat import looks_like_slack_day, looks_like_teams, read_slack_day, read_teams
from .email_reader import read_eml, read_mbox, read_msg, read_pst
from .encoding import utf8_head
from .meetings import looks_like_srt, read_notes, read_transcript
from .sources import Source
from .summary import IngestSummary
from .table_input import read_table_messages


@dataclass(frozen=True)
class Probe:
    """What detection looks at: the first bytes, the same as UTF-8 text when a BOM says
    UTF-16/32 (`head`), the lower-case suffix, and whether the file looks like JSON."""

    raw: bytes
    head: bytes
    suffix: str

    @property
    def jsonish(self) -> bool:
        return self.suffix == ".json" or self.head.lstrip()[:1] in (b"{", b"[")


Reader = Callable[[Source, IngestSummary, "dict | None"], Iterator[dict]]


@dataclass(frozen=True)
class Format:
    """One input format. `sniff` recognises it from content (tried in table order); `suffixes`
    name it when no content rule matched."""

    name: str
    read: Reader
    sniff: Callable[[Probe], bool] | None = None
    suffixes: tuple[str, ...] = ()


_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]", re.M)
_EMAIL_HEADERS = (b"message-id:", b"from:", b"date:", b"subject:", b"received:", b"return-path:",
                  b"mime-version:", b"to:")


def looks_like_email(head: bytes) -> bool:
    """At least two well-known RFC-822 headers before the first blank line."""
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].lower()
    starts = [m.group(0).split(b":")[0] + b":" for m in _HEADER_LINE.finditer(block)]
    return sum(s.lower() in _EMAIL_HEADERS for s in starts) >= 2 and block[:1].isalpha()


def read_lone_slack_day(src: Source, summary: IngestSummary, mapping: dict | None = None) -> Iterator[dict]:
    """A channel-day file outside an export: the channel is its folder's name, no user list."""
    channel = src.parts[-2] if len(src.parts) > 1 else src.stem
    return read_slack_day(src, channel, {}, summary)


def transcript_reader(fmt: str) -> Reader:
    """The reader of a transcript format (vtt or srt)."""
    def read(src: Source, summary: IngestSummary, mapping: dict | None = None) -> Iterator[dict]:
        return read_transcript(src, summary, fmt)
    return read


def table_reader(fmt: str) -> Reader:
    """The reader of a table format (csv, tsv, jsonl, parquet), with the user's column names."""
    def read(src: Source, summary: IngestSummary, mapping: dict | None = None) -> Iterator[dict]:
        return read_table_messages(src, summary, fmt, mapping)
    return read


def plain(reader: Callable[[Source, IngestSummary], Iterator[dict]]) -> Reader:
    """A reader that needs no column mapping, in the table's signature."""
    def read(src: Source, summary: IngestSummary, mapping: dict | None = None) -> Iterator[dict]:
        return reader(src, summary)
    return read


READERS: tuple[Format, ...] = (
    Format("msg", plain(read_msg), lambda p: p.raw.startswith(b"\xd0\xcf\x11\xe0"), (".msg",)),
    Format("pst", plain(read_pst), lambda p: p.raw.startswith(b"!BDN"), (".pst", ".ost")),
    Format("parquet", table_reader("parquet"), lambda p: p.raw.startswith(b"PAR1"), (".parquet", ".pq")),
    Format("notes", plain(read_notes), lambda p: p.raw.startswith(b"PK") and p.suffix == ".docx",
           (".md", ".markdown", ".txt", ".docx")),
    Format("mbox", plain(read_mbox), lambda p: p.head.startswith(b"From ") or p.suffix in (".mbox", ".mbx")),
    Format("vtt", transcript_reader("vtt"), lambda p: p.head.startswith(b"WEBVTT"), (".vtt",)),
    Format("srt", transcript_reader("srt"), lambda p: looks_like_srt(p.head), (".srt",)),
    Format("eml", plain(read_eml), lambda p: p.suffix == ".eml" or looks_like_email(p.head)),
    Format("teams", plain(read_teams), lambda p: p.jsonish and looks_like_teams(p.head)),
    Format("slack", read_lone_slack_day, lambda p: p.jsonish and looks_like_slack_day(p.head)),
    Format("jsonl", table_reader("jsonl"),
           lambda p: p.jsonish and (p.suffix == ".jsonl" or (p.head.lstrip().startswith(b"{") and b"\n{" in p.head)),
           (".jsonl", ".ndjson")),
    Format("csv", table_reader("csv"), None, (".csv",)),
    Format("tsv", table_reader("tsv"), None, (".tsv",)),
)

FORMATS: tuple[str, ...] = tuple(f.name for f in READERS)
BY_NAME: dict[str, Format] = {f.name: f for f in READERS}
BY_SUFFIX: dict[str, str] = {sfx: f.name for f in READERS for sfx in f.suffixes}


def detect(src: Source) -> str | None:
    """A name from FORMATS; "empty"; "json" for JSON no reader claims (the caller says whether
    it is invalid or just unknown); None when we cannot tell. Content first, then the name."""
    raw = src.head(4096)
    probe = Probe(raw=raw, head=utf8_head(raw), suffix=src.suffix)
    if not probe.head.strip():
        return "empty"
    for fmt in READERS:
        if fmt.sniff is not None and fmt.sniff(probe):
            return fmt.name
    if probe.jsonish:
        return "json"
    return BY_SUFFIX.get(probe.suffix)


def read_source(src: Source, fmt: str, summary: IngestSummary, mapping: dict | None = None) -> Iterator[dict]:
    """The rows of one file read as format `fmt`."""
    try:
        reader = BY_NAME[fmt].read
    except KeyError:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})") from None
    return reader(src, summary, mapping)
