"""Which reader a file needs, from its content first and its name second."""

from __future__ import annotations

import re

from .chat import looks_like_slack_day, looks_like_teams
from .encoding import utf8_head
from .meetings import looks_like_srt
from .sources import Source

FORMATS = ("mbox", "eml", "msg", "pst", "slack", "teams", "vtt", "srt", "notes",
           "csv", "tsv", "jsonl", "parquet")

_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]", re.M)
_EMAIL_HEADERS = (b"message-id:", b"from:", b"date:", b"subject:", b"received:", b"return-path:",
                  b"mime-version:", b"to:")


def looks_like_email(head: bytes) -> bool:
    """At least two well-known RFC-822 headers before the first blank line."""
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0].lower()
    starts = [m.group(0).split(b":")[0] + b":" for m in _HEADER_LINE.finditer(block)]
    return sum(s.lower() in _EMAIL_HEADERS for s in starts) >= 2 and block[:1].isalpha()


def detect(src: Source) -> str | None:
    """A format name from FORMATS, or None when we cannot tell."""
    raw = src.head(4096)
    sfx = src.suffix
    head = utf8_head(raw)               # UTF-16/32 with a BOM: sniff the text, not its bytes
    if not head.strip():
        return "empty"
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        return "msg"
    if raw.startswith(b"!BDN"):
        return "pst"
    if raw.startswith(b"PAR1"):
        return "parquet"
    if raw.startswith(b"PK") and sfx == ".docx":
        return "notes"
    if head.startswith(b"From ") or sfx in (".mbox", ".mbx"):
        return "mbox"
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if looks_like_srt(head):
        return "srt"
    if sfx in (".eml",) or looks_like_email(head):
        return "eml"
    if sfx == ".json" or head.lstrip()[:1] in (b"{", b"["):
        if looks_like_teams(head):
            return "teams"
        if looks_like_slack_day(head):
            return "slack"
        if sfx == ".jsonl" or (head.lstrip().startswith(b"{") and b"\n{" in head):
            return "jsonl"
        return "json"  # some other JSON: the pipeline says whether it is invalid or just unknown
    by_suffix = {".msg": "msg", ".pst": "pst", ".ost": "pst", ".vtt": "vtt", ".srt": "srt",
                 ".md": "notes", ".markdown": "notes", ".txt": "notes", ".docx": "notes",
                 ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
                 ".parquet": "parquet", ".pq": "parquet"}
    return by_suffix.get(sfx)
