"""Email: mbox, single .eml, Maildir, Outlook .msg and PST into message rows.

Parsing uses the standard library's ``email`` package with the fast compat32 policy;
bodies prefer text/plain, fall back to HTML converted to text, and are decoded with
errors replaced, so a bad charset never stops a batch.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from datetime import datetime, timezone
from email.header import decode_header
from email.message import Message
from typing import Iterator

from .clean import clean_email_body
from .html_text import html_to_text
from .sources import Source
from .summary import IngestSummary

_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|antw|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_MSGID = re.compile(r"<[^<>\s]+>")


def read_mbox(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """Stream an mbox file message by message (flat memory whatever its size)."""
    with src.open() as fh:
        first = fh.readline()
        if not first.startswith(b"From "):
            summary.skip("not an mbox (no 'From ' separator line)", src.name)
            return
        pos = 0
        buf: list[bytes] = []
        prev_blank = True
        for line in fh:
            if line.startswith(b"From ") and prev_blank and buf:
                pos += 1
                yield from _one(src, b"".join(buf), pos, summary, "mbox")
                buf = []
                prev_blank = True
                continue
            if line.startswith(b">From ") or line.startswith(b">>From "):
                line = line[1:]  # mboxrd un-escaping
            buf.append(line)
            prev_blank = line in (b"\n", b"\r\n")
        pos += 1
        if buf:
            yield from _one(src, b"".join(buf), pos, summary, "mbox")


def read_eml(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """One RFC-822 message per file (.eml, or a Maildir cur/new entry)."""
    source = "maildir" if {"cur", "new"} & set(src.parts[:-1]) else "eml"
    yield from _one(src, src.read_bytes(), 1, summary, source)


def _one(src: Source, raw: bytes, pos: int, summary: IngestSummary, source: str) -> Iterator[dict]:
    summary.read += 1
    head_end = raw.find(b"\n\n")
    if head_end < 0:
        head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        reason = "truncated message (headers never end)" if raw.strip() else "empty message"
        summary.skip(reason, f"{src.name} message {pos}")
        return
    fast = _FastMessage.parse(raw, head_end)
    if fast is not None:  # plain single-part text: skip the general MIME parser (3x faster)
        yield message_row(fast, src.name, pos, source, body=fast.body)
        return
    try:
        msg = email.message_from_bytes(raw)
    except Exception as exc:  # noqa: BLE001 - the stdlib parser is lenient; be safe anyway
        summary.skip("corrupt message", f"{src.name} message {pos}", detail=f"{exc}")
        return
    if not msg.keys():
        summary.skip("corrupt message (no headers)", f"{src.name} message {pos}")
        return
    yield message_row(msg, src.name, pos, source)


class _FastMessage:
    """Headers and body of a plain, single-part text/plain message, parsed without the general
    MIME machinery; anything else (multipart, HTML, odd encodings, non-ASCII headers) returns None
    from `parse` and goes to the standard library parser."""

    __slots__ = ("headers", "body")
    _LINE = re.compile(rb"^([!-9;-~]+):[ \t]*(.*)$")
    _CHARSET = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.I)

    def __init__(self, headers: dict[str, list[str]], body: str):
        self.headers, self.body = headers, body

    @classmethod
    def parse(cls, raw: bytes, head_end: int) -> "_FastMessage | None":
        head = raw[:head_end]
        if not head.isascii() or b"\r" in head:
            return None
        headers: dict[str, list[str]] = {}
        last = None
        for line in head.split(b"\n"):
            if line[:1] in (b" ", b"\t") and last is not None:
                headers[last][-1] += " " + line.strip().decode()
                continue
            m = cls._LINE.match(line)
            if not m:
                return None
            last = m.group(1).decode().lower()
            headers.setdefault(last, []).append(m.group(2).decode())
        ctype = (headers.get("content-type") or ["text/plain"])[0]
        if not ctype.lower().lstrip().startswith("text/plain"):
            return None
        cte = (headers.get("content-transfer-encoding") or ["7bit"])[0].strip().lower()
        payload = raw[head_end:].lstrip(b"\n")
        try:
            if cte == "quoted-printable":
                import quopri

                payload = quopri.decodestring(payload)
            elif cte == "base64":
                import base64
                import binascii

                try:
                    payload = base64.b64decode(payload)
                except binascii.Error:
                    return None
            elif cte not in ("7bit", "8bit", "binary"):
                return None
        except ValueError:
            return None
        m = cls._CHARSET.search(ctype)
        return cls(headers, decode_bytes(payload, m.group(1) if m else None))

    def get(self, name: str, default=None):
        v = self.headers.get(name.lower())
        return v[0] if v else default

    def get_all(self, name: str, default=None):
        return self.headers.get(name.lower(), default)

    def keys(self) -> list[str]:
        return list(self.headers)


def message_row(msg: Message, origin: str, pos: int, source: str, body: str | None = None) -> dict:
    """A message-table row from a parsed email.message.Message (or a _FastMessage)."""
    subject = header_text(msg.get("Subject"))
    msgid = _first_id(msg.get("Message-ID"))
    refs = _MSGID.findall(str(msg.get("References") or ""))
    in_reply = _first_id(msg.get("In-Reply-To"))
    body = body_text(msg) if body is None else body
    when = parse_date(msg.get("Date"))
    author = address_of(header_text(msg.get("From")))
    if not msgid:
        key = f"{author}|{msg.get('Date')}|{subject}|{body[:200]}".encode("utf-8", "replace")
        msgid = "<sha1-" + hashlib.sha1(key).hexdigest()[:20] + "@friction>"
    recipients = [address_of(a) for a in _addresses(msg, ("To", "Cc"))]
    return {
        "id": msgid,
        "source": source,
        "channel": "email",
        "timestamp": when if when is not None else (header_text(msg.get("Date")) or None),  # flagged later
        "author": author,
        "recipients": "; ".join(r for r in recipients if r),
        "thread_id": thread_id(msgid, refs, in_reply, subject),
        "reply_to": in_reply or (refs[-1] if refs else ""),
        "subject": subject,
        "text": clean_email_body(body),
        "origin_file": origin,
        "origin_pos": pos,
    }


def thread_id(msgid: str, refs: list[str], in_reply: str, subject: str) -> str:
    """Thread root's Message-ID from References/In-Reply-To; a root message is its own thread;
    a reply with neither header falls back to the normalised subject."""
    if refs:
        return refs[0]
    if in_reply:
        return in_reply
    if subject and _SUBJECT_PREFIX.match(subject):
        return "subject:" + normalise_subject(subject)
    return msgid


def normalise_subject(subject: str) -> str:
    return re.sub(r"\s+", " ", _SUBJECT_PREFIX.sub("", subject)).strip().lower()


def header_text(value) -> str:
    """Decode RFC 2047 words; undecodable bytes are replaced, never fatal."""
    if value is None:
        return ""
    value = str(value)
    if "=?" not in value:
        return " ".join(value.split())
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001 - malformed encoded-word
        return " ".join(value.split())
    text = "".join(p if isinstance(p, str) else decode_bytes(p, cs) for p, cs in parts)
    return " ".join(text.split())


_SIMPLE_ADDR = re.compile(r'^\s*(?:"?[^"<>,]*"?\s*<([^<>@\s]+@[^<>\s]+)>|<?([^\s<>@,"]+@[^\s<>,"]+?)>?)\s*$')


def address_of(value: str) -> str:
    """The address of 'Name <addr>' (lower-cased), else the name as written."""
    m = _SIMPLE_ADDR.match(value)  # fast path for the common shapes; the stdlib parser is slow
    if m:
        return (m.group(1) or m.group(2)).lower()
    name, addr = email.utils.parseaddr(value)
    return addr.lower() if addr and "@" in addr else (name or value).strip()


def _addresses(msg: Message, fields: tuple[str, ...]) -> list[str]:
    values = [header_text(v) for f in fields for v in msg.get_all(f, [])]
    if not any('"' in v or "(" in v for v in values):
        return [a.strip() for v in values for a in v.split(",") if a.strip()]
    return [f"{n} <{a}>" if n else a for n, a in email.utils.getaddresses(values) if a or n]


def _first_id(value) -> str:
    if not value:
        return ""
    m = _MSGID.search(str(value))
    return m.group(0) if m else str(value).strip()


def parse_date(value) -> datetime | None:
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def body_text(msg: Message) -> str:
    """text/plain if any non-attachment part has it, else HTML converted to text."""
    plain = html = None
    for part in msg.walk() if msg.is_multipart() else (msg,):
        if part.is_multipart() or part.get_filename():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _decode(part)
        elif ctype == "text/html" and html is None:
            html = _decode(part)
    if plain is not None and plain.strip():
        return plain
    if html:
        return html_to_text(html)
    return plain or ""


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return decode_bytes(payload, part.get_content_charset())


# Mail clients (and the WHATWG encoding standard) read Latin-1 and ASCII labels as windows-1252.
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes to text in the declared charset; unknown charsets fall back to UTF-8, bad bytes are replaced."""
    cs = (charset or "utf-8").strip().lower()
    cs = "cp1252" if cs in _AS_CP1252 else cs
    try:
        return data.decode(cs, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def read_msg(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """Outlook .msg through extract-msg."""
    import extract_msg  # heavy import, only when a .msg is seen

    summary.read += 1
    data = src.read_bytes()
    if len(data) < 1536 or not data.startswith(b"\xd0\xcf\x11\xe0"):  # smaller than any compound file
        summary.skip("corrupt Outlook .msg", src.name, detail="not a complete OLE compound file")
        return
    try:
        m = extract_msg.openMsg(data)
    except Exception as exc:  # noqa: BLE001 - any OLE/format failure is one bad file
        summary.skip("corrupt Outlook .msg", src.name, detail=f"{exc.__class__.__name__}: {exc}")
        return
    try:
        body = m.body or ""
        if not body.strip() and getattr(m, "htmlBody", None):
            hb = m.htmlBody
            body = html_to_text(hb.decode("utf-8", "replace") if isinstance(hb, bytes) else hb)
        subject = m.subject or ""
        msgid = _first_id(m.messageId) or ""
        author = address_of(m.sender or "")
        recipients = [address_of(r) for r in re.split(r"[;,]\s*", f"{m.to or ''};{m.cc or ''}") if r.strip()]
        when = m.date
        if isinstance(when, datetime):
            when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
        else:
            when = parse_date(when)
        in_reply = _first_id(getattr(m, "inReplyTo", None))
        if not msgid:
            key = f"{author}|{when}|{subject}|{body[:200]}".encode("utf-8", "replace")
            msgid = "<sha1-" + hashlib.sha1(key).hexdigest()[:20] + "@friction>"
        yield {
            "id": msgid, "source": "msg", "channel": "email", "timestamp": when,
            "author": author, "recipients": "; ".join(recipients),
            "thread_id": thread_id(msgid, [], in_reply, subject), "reply_to": in_reply,
            "subject": subject, "text": clean_email_body(body),
            "origin_file": src.name, "origin_pos": 1,
        }
    finally:
        m.close()


PST_HINT = "PST support needs the optional extra: pip install 'friction[pst]' (libpff-python)"


def read_pst(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """Outlook PST/OST through libpff-python, an optional extra."""
    try:
        import pypff  # type: ignore[import-not-found]
    except ImportError:
        summary.skip("PST reader not installed", src.name, detail=PST_HINT)
        return
    if "!" in src.name:  # libpff needs a real file; we never extract archives to disk
        summary.skip("PST inside a zip (unzip it first)", src.name)
        return
    pst = pypff.file()
    try:
        pst.open(src.name)
    except Exception as exc:  # noqa: BLE001
        summary.skip("corrupt PST", src.name, detail=str(exc))
        return
    try:
        for pos, item in enumerate(_pst_messages(pst.get_root_folder()), start=1):
            summary.read += 1
            headers = item.get_transport_headers() or ""
            body = item.get_plain_text_body() or b""
            if not body and item.get_html_body():
                body = html_to_text(item.get_html_body().decode("utf-8", "replace")).encode()
            raw = headers.encode("utf-8", "replace") + b"\n\n" + body
            yield message_row(email.message_from_bytes(raw), src.name, pos, "pst")
    finally:
        pst.close()


def _pst_messages(folder) -> Iterator:
    for i in range(folder.get_number_of_sub_messages()):
        yield folder.get_sub_message(i)
    for i in range(folder.get_number_of_sub_folders()):
        yield from _pst_messages(folder.get_sub_folder(i))
