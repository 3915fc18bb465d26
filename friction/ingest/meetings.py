"""Meetings: WebVTT / SRT transcripts (one row per speaker turn) and written notes
(.md, .txt, .docx; one row per bullet or paragraph)."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Iterator

from .encoding import decode_text
from .sources import Source
from .summary import IngestSummary

_CUE_TIME = re.compile(
    r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^<>]+)>")
_TAGS = re.compile(r"</?[a-z][^<>]*>|</v>", re.I)
_PREFIX = re.compile(r"^([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}|[A-Z]{2,4}|Speaker \d+)\s*:\s+(.+)$", re.S)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T _](\d{2})[:.]?(\d{2}))?")
_COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def find_date(text: str) -> datetime | None:
    """First plausible date in text: ISO 2024-03-05 [14:00], 20240305, or 'Date: 5 March 2024'."""
    for m in _ISO.finditer(text):
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), tzinfo=timezone.utc)
        except ValueError:
            continue
    m = re.search(r"(?im)^\W*(date|meeting date|when)\s*:\s*(.+)$", text)
    if m:
        from dateutil import parser as dparser

        try:
            dt = dparser.parse(m.group(2), fuzzy=True, dayfirst=True)
            return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        except (ValueError, OverflowError):
            pass
    for m in _COMPACT.finditer(text):
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


def _offset(h, m, s, ms) -> timedelta:
    return timedelta(hours=int(h or 0), minutes=int(m), seconds=int(s), milliseconds=int(ms.ljust(3, "0")))


def content_key(data: bytes) -> str:
    """A file's identity in row ids: a hash of its bytes, so ids are the same whenever the same
    file is read (folder, zip, renamed) and differ for two files that share a name."""
    return hashlib.sha1(data).hexdigest()[:16]


def read_transcript(src: Source, summary: IngestSummary, fmt: str) -> Iterator[dict]:
    """WebVTT or SRT; consecutive cues of one speaker merge into one turn."""
    data = src.read_bytes()
    key = content_key(data)
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        summary.skip("empty file", src.name)
        return
    blocks = re.split(r"\n\s*\n", text.strip())
    header = blocks[0] if fmt == "vtt" else ""
    notes = "\n".join(b for b in blocks if b.startswith("NOTE"))
    base = find_date(header + "\n" + notes) or find_date(src.stem)
    if base is None:
        summary.warn(f"{src.name}: no meeting date in header or file name; timestamps left empty")
    turns: list[list] = []  # [speaker, start offset, [texts]]
    cues = 0
    for block in blocks:
        lines = block.split("\n")
        idx = next((i for i, ln in enumerate(lines) if _CUE_TIME.search(ln)), None)
        if idx is None:
            continue
        cues += 1
        t = _CUE_TIME.search(lines[idx])
        start = _offset(*t.groups()[:4])
        body = " ".join(ln.strip() for ln in lines[idx + 1:] if ln.strip())
        speaker = ""
        v = _VOICE.search(body)
        if v:
            speaker = v.group(1).strip()
        body = _TAGS.sub("", body).strip()
        if not v:
            p = _PREFIX.match(body)
            if p:
                speaker, body = p.group(1).strip(), p.group(2).strip()
        if not body:
            continue
        if not speaker and turns:
            speaker = turns[-1][0]
        if turns and turns[-1][0] == speaker:
            turns[-1][2].append(body)
        else:
            turns.append([speaker, start, [body]])
    if cues == 0:
        summary.skip("no cues found in transcript", src.name)
        return
    prefix = fmt
    for n, (speaker, start, texts) in enumerate(turns, start=1):
        summary.read += 1
        yield {
            "id": f"{prefix}:{key}:{n}",
            "source": fmt,
            "channel": "meeting",
            "timestamp": base + start if base else None,
            "author": speaker,
            "recipients": "",
            "thread_id": f"{prefix}:{key}",
            "reply_to": "",
            "subject": src.stem,
            "text": " ".join(texts),
            "origin_file": src.name,
            "origin_pos": n,
        }


def looks_like_srt(head: bytes) -> bool:
    return re.match(rb"\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2},\d{1,3}\s*-->", head) is not None


# ---------------------------------------------------------------- notes

_HEADING = re.compile(r"^\s*(#{1,6}\s|={3,}|-{3,}\s*$)")
_META = re.compile(r"(?i)^\s*[*_]*(date|attendees|present|apologies|participants|location|time|when|agenda|chair|minutes taken by)[*_]*\s*:")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)]|\[[ xX]\])\s+")


def read_notes(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """Meeting notes: one row per bullet or paragraph; date from a header line or the file name."""
    data = src.read_bytes()
    key = content_key(data)
    if src.suffix == ".docx":
        paragraphs = _docx_paragraphs(src, data, summary)
        if paragraphs is None:
            return
    else:
        raw = decode_text(data).replace("\r\n", "\n")
        paragraphs = raw.split("\n")
    head = "\n".join(p for p in paragraphs[:15])
    base = find_date(head) or find_date(src.stem)
    if base is None:
        summary.warn(f"{src.name}: no meeting date in header or file name; timestamps left empty")
    items: list[str] = []
    current: list[str] = []

    def flush():
        if current:
            items.append(" ".join(current).strip())
            current.clear()

    title = ""
    for line in paragraphs:
        if not line.strip():
            flush()
            continue
        if _HEADING.match(line) or _META.match(line):
            flush()
            if not title and line.lstrip().startswith("#"):
                title = line.strip("# \t")
            continue
        if _BULLET.match(line):
            flush()
            current.append(_BULLET.sub("", line, count=1).strip())
        elif current and line.startswith((" ", "\t")):
            current.append(line.strip())  # wrapped continuation of a bullet
        else:
            current.append(line.strip())  # paragraph text, or a lazy continuation line
    flush()
    for n, item in enumerate((i for i in items if i), start=1):
        summary.read += 1
        yield {
            "id": f"notes:{key}:{n}",
            "source": "notes",
            "channel": "meeting",
            "timestamp": base,
            "author": "",  # notes are one note-taker's words about the meeting
            "recipients": "",
            "thread_id": f"notes:{key}",
            "reply_to": "",
            "subject": title or src.stem,
            "text": item,
            "origin_file": src.name,
            "origin_pos": n,
        }


def _docx_paragraphs(src: Source, data: bytes, summary: IngestSummary) -> list[str] | None:
    try:
        import docx  # python-docx
    except ImportError:  # pragma: no cover - a declared dependency
        summary.skip("python-docx not installed", src.name)
        return None
    try:
        d = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - not a valid Word file
        summary.skip("corrupt .docx", src.name, detail=str(exc.__class__.__name__))
        return None
    out = []
    for p in d.paragraphs:
        style = (p.style.name or "").lower() if p.style is not None else ""
        text = p.text
        if style.startswith("heading") or style == "title":
            out.extend(["", "# " + text, ""])
        elif "list" in style:
            out.append("- " + text)
        else:
            out.extend([text, ""])
    return out
