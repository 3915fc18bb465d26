"""Keep only the new text of a message: quotes, forwards, signatures and disclaimers go.

Friction inside a quoted message must not be counted again in the reply, so every
email body passes through :func:`clean_email_body` before it reaches the table.

The cleaner is our own set of line-anchored regexes (prior art: talon's
``extract_from_plain``, GitHub's email_reply_parser and mail-parser-reply). It was chosen
over those libraries by ``scripts/experiments/eval_cleaning.py``: they miss Lotus Notes forwards and
reply headers, Outlook header blocks, disclaimers and contact blocks, mail-parser-reply
treats any "Thanks," or "- item" line as the start of a signature, and it and talon
are 4-8x slower (ours: ~40,000 short messages/s on one core). Steps:

1. drop raw RFC 822 header blocks pasted on top of the body;
2. cut at the first header that starts quoted or forwarded content: "-----Original
   Message-----", "---------- Forwarded message ----------", Lotus "----- Forwarded by
   ... -----", "Begin forwarded message:", "On ... wrote:" (also wrapped over up to three
   lines; German "Am ... schrieb ...:", French "Le ... a écrit :"), an Outlook block of
   From:/Sent:/To:/Subject: lines (also German/French), a Lotus Notes header ("Name@ORG /
   date / To: / cc: / Subject:", "From: Name 07/18/2000 08:34 AM"), a block of raw
   MIME headers, "-- " and "Sent from my ..." / "Get Outlook for ...". A "... wrote:"
   header followed by ``>`` lines is dropped instead of cut, so answers written between
   quoted lines survive;
3. drop ``>`` lines;
4. cut a trailing confidentiality disclaimer paragraph;
5. drop a trailing name/title/phone block: after a valediction such as "Thanks," (the
   valediction stays), or a block that starts with a name and holds a phone/e-mail/URL
   line. A lone name without either stays (it cannot be told from a one-word answer).
   A block that ends in lines that are not signature lines (a promotional line, a slogan)
   is recognised by its density of contact lines: a name paragraph, two or more
   phone/e-mail/web lines, at most two other lines after them and none of them a question.
   Numbered references ("[1] https://...") never count as contact lines there.
   ``scripts/diff_cleaner.py`` shows what a change here does to real mail.

HTML bodies become text first, in ``html_text.py``.
"""

from __future__ import annotations

import heapq
import re

from .html_text import html_to_text  # noqa: F401 - re-exported: email bodies are cleaned after it
from .html_text import squeeze_lines

# ------------------------------------------------------------------ quote/forward headers
# One pass over the text finds candidate lines, each is then verified; the first
# verified one is the cut. Every alternative starts with a short literal, so the scan is
# cheap; the two that need a scan along the line live in _TRIGGER_SLOW, used only
# when a cheap substring test says they can match.
_TRIGGER = re.compile(
    r"^[ \t]*(?:"
    r"(?P<sep>-{2,}[ \t]*(?:Original Message|Forwarded message|Forwarded by\b|Urspr\u00fcngliche Nachricht"
    r"|Weitergeleitete Nachricht|Message d'origine|Message transf\u00e9r\u00e9)"
    r"|Begin forwarded message:|Anfang der weitergeleiteten (?:Nachricht|E-Mail):)"
    r"|(?P<wrote>(?:On|Am|Le)[ \t])"
    r"|(?P<mime>(?:Message-ID|Content-Type|Content-Transfer-Encoding|MIME-Version|X-Mozilla-Status2?"
    r"|Return-Path|Received|X-MS-Has-Attach)[ \t]*:)"
    r"|(?P<from>\*?(?:From|Von|De)\*?[ \t]*:)"
    r"|(?P<to>To[ \t]*:)"
    r"|(?P<sig>--[ \t]*$|(?:Sent (?:from|via) (?:my|Mail|Outlook|Yahoo|BlackBerry|Samsung)"
    r"|Get Outlook for|Envoy\u00e9 de mon|Von meinem\b[^\n]{0,40}\bgesendet)[^\n]{0,60}$)"
    r")",
    re.M | re.I)
_TRIGGER_SLOW = re.compile(
    r"^[ \t]*(?:"
    r"(?P<wrote>\S[^\n]{0,150}?\b(?:wrote|schrieb|a \u00e9crit)[ \t]*:[ \t]*$)"
    r"|(?P<lotusline>[A-Z][^\n]{0,100}?\d{1,2}/\d{1,2}/\d{2,4}[ \t]+\d{1,2}:\d{2}(?::\d{2})?[ \t]*[AP]M[ \t]+To:)"
    r")",
    re.M)
_SLOW_HINTS = ("wrote", "schrieb", "crit", "M To:", "M  To:", "M\tTo:")

_WROTE_END = re.compile(r"\b(?:wrote|schrieb\b.{0,120}?|a \u00e9crit)\s*:\s*$", re.I)
_ON = re.compile(r"(?:On|Am|Le)\s", re.I)
_HEADERISH = re.compile(r"\d|@|\b(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct"
                        r"|nov|dec|montag|dienstag|mittwoch|donnerstag|freitag|lun|mer|jeu|ven)", re.I)
_FIELD = re.compile(
    r"^[ \t]*\*?(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Importance|Von|Gesendet|Datum|An|Betreff"
    r"|De|Envoy\u00e9|\u00c0|Objet|Envoy\u00e9 par)\*?[ \t]*:", re.I)
_SENT_FIELDS = {"sent", "date", "gesendet", "datum", "envoy\u00e9"}
_FROM_FIELDS = {"from", "von", "de"}
_MIME_FIELD = re.compile(r"^\s*[\w-]+:\s")
_MIME_NAMES = re.compile(r"^\s*(?:Message-ID|Content-Type|Content-Transfer-Encoding|MIME-Version|Return-Path"
                         r"|Received|X-Mailer|X-Mozilla-Status2?)\s*:", re.I | re.M)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")

# Lotus Notes: lines that sit above "To:" in a reply/forward header
_LOTUS_ANCHOR = re.compile(
    r"^\s*(?:\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?\s*$"   # 07/17/2000 09:32 AM
    r"|[^\n]{1,80}\son\s\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}"                  # "X" <x@y> on 05/08/2001 ...
    r"|Sent by:|Please respond to\b"
    r"|[^\s@][^@\n]{0,60}@[A-Za-z_][\w .-]{0,40}$)", re.I)                           # Jane Doe@ACME
_LOTUS_NAME = re.compile(r"^\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,4}\s*$")
_LOTUS_FIELD = re.compile(r"^\s*(cc|bcc|Subject)\s*:", re.I)
# "From: Jane Doe 07/18/2000 08:34 AM" is a header on its own; a letterhead may sit above it
_LOTUS_FROM = re.compile(r"^\s*From:[^\n]{1,80}?\s\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}", re.I)
_LETTERHEAD = re.compile(r"\n[ \t]*[A-Z][\w&.,' -]{2,60}(?:Corp\.?|Inc\.?|Services|Company|LLC|Ltd\.?|L\.P\.)"
                         r"[ \t]*\n\s*$")
# "Jane Doe@ACME 06/07/2001 04:59 PM" (a Lotus header squeezed onto one line, or left at the end)
_LOTUS_NAMEDATE = re.compile(
    r"(?:^\s*|\bFrom:\s*)(?:[A-Z][\w.'/@-]*\s+){1,5}(?:@\s*\w+\s+)?(?:on\s+)?"
    r"\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*[AP]M\b")
_LOTUS_DATE = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?\s*$", re.I)
_ENDS_AMPM = re.compile(r"[AP]M\s*$")

# ------------------------------------------------------------------ disclaimers and signatures
_DISCLAIMER_START = re.compile(
    r"(?:\A|\n[ \t]*+\n)((?:[ \t]*+[*=_~#-]{3,}+[ \t]*+\n)*+[ \t]*+[*\[(]*+[ \t]*+(?:"
    r"confidentiality (?:notice|note|statement|warning)|disclaimer|privileged (?:and|&) confidential"
    r"|legal notice|important notice"
    r"|this (?:e-?mail|message|communication|transmission)\b"
    r"|the (?:information|contents?) (?:contained )?in this (?:e-?mail|message|communication|transmission)"
    r"|if you (?:are not|have received this))"
    r")", re.I)
_DISCLAIMER_WORDS = re.compile(
    r"confidential|privileged|intended recipient|sole use|intended (?:solely|only)|notify|delete|destroy"
    r"|disclos|distribut|copying|prohibited|unauthori[sz]ed|in error|property of", re.I)
_VALEDICTION = re.compile(
    r"^\s*(?:thanks?(?: (?:again|a lot|so much))?|thank you|many thanks|thx|cheers|regards|best"
    r"|(?:best|kind|warm|warmest) (?:regards|wishes)|all the best|sincerely|yours(?: truly| sincerely)?"
    r"|respectfully|br|mit freundlichen gr(?:\u00fc|ue)(?:\u00df|ss)en|(?:viele|beste|liebe) gr(?:\u00fc|ue)(?:\u00df|ss)e"
    r"|gru(?:\u00df|ss)|cordialement|bien (?:\u00e0 vous|cordialement)|merci)\s*[,.!]?\s*(?:[A-Z][\w.'-]*\s*)?$",
    re.I)
_PHONE = re.compile(r"\+?\d[\d ().\-/]{6,}\d|^\s*(?:tel|phone|ph|mobile|cell|fax|direct|office|[mtf])\b\.?\s*:", re.I)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|www\.", re.I)
_ABBREV_END = re.compile(r"(?:\b\w|Inc|Ltd|Esq|Jr|Sr|Corp|Co)\.$")
_SIG_WORD = re.compile(r"[A-Za-z\u00c0-\u017f][\w'\u00c0-\u017f.&-]*")
_SMALL_WORDS = {"of", "and", "the", "for", "de", "la", "von", "und", "der", "at", "&", "du", "in"}
_NAME_SPLIT = re.compile(r"\s*(?:[|,\u2013\u2014\u2022]|\s-\s)\s*")
_SEPARATOR_LINE = re.compile(r"^[\s*=_~#-]*$")
_FOOTNOTE = re.compile(r"^\s*\[\d{1,3}\]")
_TITLE_SEP = re.compile(r"\s[|\u2022\u00b7]\s")                  # "Senior PM | Acme Corp"



def clean_email_body(text: str) -> str:
    """Return the author's new text: cut at the first quote/forward header, drop `>` lines,
    a trailing confidentiality disclaimer and a trailing signature block."""
    if not text:
        return ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\u200b" in text or "\ufeff" in text:
        text = text.replace("\u200b", "").replace("\ufeff", "")
    text = _strip_leading_headers(text)
    text, drop = _cut_quoted(text)
    lines = text.split("\n")
    if drop or ">" in text:
        lines = [ln for i, ln in enumerate(lines) if i not in drop and not ln.lstrip().startswith(">")]
    lines = _strip_disclaimer(lines)
    lines = _strip_signature(lines)
    while lines and _is_trailing_junk(lines[-1]):
        lines.pop()
    return squeeze_lines(lines)


def _is_trailing_junk(line: str) -> bool:
    """Separator rules and orphaned Lotus "Name / 07/17/2000 09:32 AM" lines at the end."""
    return bool(_SEPARATOR_LINE.match(line) or _LOTUS_DATE.match(line)
                or (len(line) < 120 and _ENDS_AMPM.search(line) and _LOTUS_NAMEDATE.search(line)))


def _strip_leading_headers(text: str) -> str:
    """Drop raw RFC 822 header blocks on top of the body (an exported message pasted
    whole); the body below them is kept."""
    while True:
        stripped = text.lstrip()
        if not _MIME_FIELD.match(stripped):
            return text
        end = _BLANK_LINE.search(stripped)
        block = stripped[: end.start()] if end else stripped
        if not _MIME_NAMES.search(block) or len(re.findall(r"^[\w-]+:", block, re.M)) < 2:
            return text
        text = stripped[end.end():] if end else ""


def _triggers(text: str):
    fast = _TRIGGER.finditer(text)
    if any(h in text for h in _SLOW_HINTS):
        return heapq.merge(fast, _TRIGGER_SLOW.finditer(text), key=lambda m: m.start())
    return fast


def _cut_quoted(text: str) -> tuple[str, set[int]]:
    """Cut at the first quote/forward header; also return line numbers of dropped
    "... wrote:" headers that introduce `>` quotes (kept text may follow them)."""
    drop: set[int] = set()
    for m in _triggers(text):
        start = m.start()
        kind = m.lastgroup
        if kind == "sep":
            return text[:start], drop
        nxt = text[start:start + 4000].split("\n", 40)
        if kind == "wrote":
            n = _wrote_header(nxt)
            if not n:
                continue
            rest = next((ln.strip() for ln in nxt[n:] if ln.strip()), "")
            if rest.startswith(">"):
                first = text.count("\n", 0, start)
                drop.update(range(first, first + n))
                continue
            if n > 0 and (_ON.match(nxt[0].lstrip()) or "@" in nxt[0] or _is_name(_WROTE_END.sub("", nxt[0]))):
                return text[:start], drop
        elif kind == "from":
            if _LOTUS_FROM.match(nxt[0]):
                head = text[:start]
                letterhead = _LETTERHEAD.search(head)
                return (head[: letterhead.start() + 1] if letterhead else head), drop
            if _outlook_block(nxt):
                return text[:start], drop
        elif kind == "to":
            cut = _lotus_block(text, start, nxt)
            if cut is not None and text[:cut].strip():      # at the very top it is a memo header
                return text[:cut], drop
        elif kind == "lotusline":
            if _LOTUS_NAMEDATE.match(nxt[0]):
                return text[:start], drop
        elif kind == "mime":
            if len(nxt) > 1 and _MIME_FIELD.match(nxt[1]):
                return text[:start], drop
        elif kind == "sig":
            if text[:start].strip():
                return text[:start], drop
    return text, drop


def _wrote_header(lines: list[str]) -> int:
    """Number of lines (1-3) forming an "On ... wrote:" header at lines[0], else 0;
    a header without "On" must sit on one line."""
    joined = ""
    for n in range(min(3, len(lines))):
        line = lines[n].strip()
        if not line:
            return 0
        joined = f"{joined} {line}" if joined else line
        if len(joined) > 300:
            return 0
        if _WROTE_END.search(joined):
            if _ON.match(joined):
                return n + 1 if _HEADERISH.search(joined) else 0
            return 1 if n == 0 else 0
    return 0


def _outlook_block(lines: list[str]) -> bool:
    """lines[0] is "From:"; true when header fields follow (From + Sent/Date, or two more)."""
    fields = set()
    gap = 0
    for ln in lines[1:16]:
        m = _FIELD.match(ln)
        if m:
            fields.add(m.group(1).lower())
            gap = 0
        elif not ln.strip() or gap >= 3:
            break
        else:
            gap += 1          # wrapped address list
    fields -= _FROM_FIELDS
    return bool(fields & _SENT_FIELDS) or len(fields) >= 2


def _lotus_block(text: str, start: int, lines: list[str]) -> int | None:
    """lines[0] is "To:". A Lotus Notes header has a date, "Name@ORG", "X on <date>",
    "Sent by:" or header field line above it, or both cc: and Subject: below it.
    Returns the offset where the header starts, else None."""
    above = text[max(0, start - 2000):start].split("\n")
    above.pop()                                   # the (empty) part of the To: line
    i = len(above) - 1
    anchored = False
    top = len(above)
    seen = 0
    while i >= 0 and seen < 6:
        ln = above[i]
        if not ln.strip():
            if seen:
                break
            i -= 1
            continue
        if _LOTUS_ANCHOR.match(ln) or _FIELD.match(ln):
            anchored = True
        elif not (_LOTUS_NAME.match(ln) and anchored):
            break
        top = i
        seen += 1
        i -= 1
    if anchored:
        return start - sum(len(ln) + 1 for ln in above[top:])
    below = {m.group(1).lower() for ln in lines[1:40] for m in [_LOTUS_FIELD.match(ln)] if m}
    if "subject" in below and ("cc" in below or "bcc" in below):
        return start
    return None


def _strip_disclaimer(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    first = len(text) - len(text.lstrip())
    for m in _DISCLAIMER_START.finditer(text):
        start = m.start(1)
        if start <= first:
            continue                      # a "Privileged and Confidential" label on top of the message
        end = _BLANK_LINE.search(text, start + 40)
        if len(_DISCLAIMER_WORDS.findall(text, start, end.start() if end else len(text))) >= 2:
            return text[:start].split("\n")
    return lines


def _is_name(line: str) -> bool:
    """A person's name, also "Name | Title | Company" or "Name, Title"."""
    words = _NAME_SPLIT.split(line.strip(), 1)[0].split()
    if not 1 <= len(words) <= 4 or any(c.isdigit() or c in ":;?!" for c in line):
        return False
    return all(w[:1].isupper() or w.lower() in _SMALL_WORDS for w in words)


def _is_sigline(line: str) -> tuple[bool, bool]:
    """(looks like a signature line, is a contact line)."""
    s = line.strip()
    if len(s) > 80:
        return False, False
    if _PHONE.search(s) or _CONTACT.search(s):
        return len(s) <= 80, True
    if len(s) > (80 if _TITLE_SEP.search(s) else 60) or s[-1] in "?!:;" or (s[-1] == "." and not _ABBREV_END.search(s)):
        return False, False
    words = _SIG_WORD.findall(s)
    if not words or len(words) > 8:
        return False, False
    caps = sum(w[0].isupper() or w.lower() in _SMALL_WORDS for w in words)
    return caps >= 0.6 * len(words) and not s.startswith(("-", "*", "\u2022")), False


def _strip_signature(lines: list[str]) -> list[str]:
    """Drop a trailing name/title/contact block; a valediction line above it stays."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    i, top, n, contact, blanks = end - 1, None, 0, False, 0
    while i >= 0 and n < 10:
        s = lines[i].strip()
        if not s:
            blanks += 1
            if blanks > 1:
                break
            i -= 1
            continue
        if _VALEDICTION.match(s):
            break
        ok, is_contact = _is_sigline(s)
        if not ok:
            break
        top, n, blanks = i, n + 1, 0
        contact |= is_contact
        i -= 1
    if top is not None and _is_name(lines[top]):
        j = top - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j < 0:
            return lines                  # nothing above: the whole message would go
        if _VALEDICTION.match(lines[j]) or (contact and n >= 2 and j < top - 1):
            return lines[:top]
    top = _dense_contact_block(lines, end)
    return lines if top is None else lines[:top]


def _dense_contact_block(lines: list[str], end: int) -> int | None:
    """Start of a trailing signature that the line-by-line walk misses because other lines close it
    (a promotional line, a long slogan): a name line, then at least two phone/e-mail/web lines,
    where every line before the first contact line is a signature line and at most two other
    lines (none a question) follow it. The block must be set off by a blank line or a valediction
    from text above it, which stays."""
    idx: list[int] = []                   # the last non-blank lines, at most one blank between two
    i, blanks = end - 1, 0
    while i >= 0 and len(idx) < 10:
        s = lines[i].strip()
        if not s:
            blanks += 1
            if blanks > 1:
                break
        elif _VALEDICTION.match(s):
            break
        else:
            blanks = 0
            idx.append(i)
        i -= 1
    idx.reverse()
    for pos, top in enumerate(idx):
        if len(idx) - pos < 3 or not _is_name(lines[top]):
            continue
        j = top - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j < 0 or not (j < top - 1 or _VALEDICTION.match(lines[j])):
            continue                      # not the start of its own paragraph, or nothing above
        kinds = []
        for k in idx[pos:]:
            ok, contact = _is_sigline(lines[k])
            if _FOOTNOTE.match(lines[k]):
                ok = contact = False          # "[1] https://..." is a reference the author gave
            kinds.append("contact" if contact else "sig" if ok else "other")
        before_other = kinds[: kinds.index("other")] if "other" in kinds else kinds
        others = [lines[k].strip() for k, kind in zip(idx[pos:], kinds) if kind == "other"]
        if (kinds.count("contact") >= 2 and "contact" in before_other and len(others) <= 2
                and not any(len(o) > 200 or o.endswith("?") for o in others)):
            return top
    return None
