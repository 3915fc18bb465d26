"""Keep only the new text of a message: quotes, forwards, signatures and disclaimers go.

Friction inside a quoted message must not be counted again in the reply, so every
email body passes through :func:`clean_email_body` before it reaches the table.

The cleaner is our own set of line-anchored regexes (prior art: talon's
``extract_from_plain``, github's email_reply_parser and mail-parser-reply). It was chosen
over those libraries by ``scripts/eval_cleaning.py``: they miss Lotus Notes forwards and
reply blocks, Outlook header blocks without a separator line, and trailing contact
blocks, and mail-parser-reply treats any "Thanks," or "- item" line as the start of a
signature. Steps:

1. cut at the first header that starts quoted or forwarded content: "-----Original
   Message-----", "---------- Forwarded message ----------", Lotus "----- Forwarded by
   ... -----", "Begin forwarded message:", "On ... wrote:" (also wrapped over up to three
   lines, German "Am ... schrieb ...:", French "Le ... a écrit :"), an Outlook block of
   From:/Sent:/To:/Subject: lines (also German/French), a Lotus "Name@ORG / date / To: /
   cc: / Subject:" block, "-- " and "Sent from my ..." / "Get Outlook for ...";
   a "... wrote:" header that is followed by ``>`` lines is dropped instead of cut, so
   answers written between quoted lines survive;
2. drop ``>`` lines;
3. cut a trailing confidentiality disclaimer paragraph;
4. drop a trailing name/title/phone block (after a valediction such as "Thanks," which is
   kept, or a block that starts with a name and holds a phone/e-mail/URL line).
"""

from __future__ import annotations

import html as _html
import re

# ------------------------------------------------------------------ triggers
# One pass over the text finds candidate lines; each is then verified.
_TRIGGER = re.compile(
    r"^[ \t]*(?:"
    r"(?P<sep>-{2,}[ \t]*(?:Original Message|Forwarded message|Forwarded by\b|Urspr\u00fcngliche Nachricht"
    r"|Weitergeleitete Nachricht|Message d'origine|Message transf\u00e9r\u00e9)"
    r"|Begin forwarded message:|Anfang der weitergeleiteten (?:Nachricht|E-Mail):"
    r"|-{5,}[ \t]*Forwarded by\b)"
    r"|(?P<wrote>(?:On|Am|Le)[ \t]|\S[^\n]{0,150}?\b(?:wrote|schrieb|a \u00e9crit)[ \t]*:[ \t]*$)"
    r"|(?P<from>\*?(?:From|Von|De)\*?[ \t]*:)"
    r"|(?P<to>To[ \t]*:)"
    r"|(?P<sig>--[ \t]*$|(?:Sent (?:from|via) (?:my|Mail|Outlook|Yahoo|BlackBerry|Samsung)"
    r"|Get Outlook for|Envoy\u00e9 de mon|Von meinem\b[^\n]{0,40}\bgesendet)[^\n]{0,60}$)"
    r")",
    re.M | re.I)

_WROTE_END = re.compile(r"\b(?:wrote|schrieb\b.{0,120}?|a \u00e9crit)\s*:\s*$", re.I)
_HEADERISH = re.compile(r"\d|@|\b(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul|aug|sep|oct"
                        r"|nov|dec|montag|dienstag|mittwoch|donnerstag|freitag|lun|mar|mer|jeu|ven)", re.I)
_FIELD = re.compile(
    r"^[ \t]*\*?(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Importance|Von|Gesendet|Datum|An|Betreff"
    r"|De|Envoy\u00e9|\u00c0|Objet|Envoy\u00e9 par)\*?[ \t]*:", re.I)
_SENT_FIELDS = {"sent", "date", "gesendet", "datum", "envoy\u00e9"}
# Lotus Notes: lines that sit above "To:" in a reply/forward header
_LOTUS_ANCHOR = re.compile(
    r"^\s*(?:\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?\s*$"   # 07/17/2000 09:32 AM
    r"|[^\n]{1,80}\son\s\d{1,2}/\d{1,2}/\d{2,4}\s+\d{1,2}:\d{2}"                  # "X" <x@y> on 05/08/2001 ...
    r"|Sent by:"
    r"|[^\s@][^@\n]{0,60}@[A-Za-z_][\w .-]{0,40}$)", re.I)                           # Jane Doe@ACME
_LOTUS_NAME = re.compile(r"^\s*[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,4}\s*$")
_LOTUS_FIELD = re.compile(r"^\s*(?:cc|bcc|Subject)\s*:", re.I)

# ------------------------------------------------------------------ disclaimers and signatures
_DISCLAIMER_START = re.compile(
    r"(?:\A|\n[ \t]*\n)((?:[ \t]*[*=_~#-]{3,}[ \t]*\n)*[ \t]*[*\[(]*[ \t]*(?:"
    r"(?P<title>confidentiality (?:notice|note|statement|warning)|disclaimer|privileged (?:and|&) confidential"
    r"|legal notice|important notice)"
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
_PHONE = re.compile(r"(?:\+?\d[\d ().\-/]{6,}\d)|^\s*(?:tel|phone|ph|mobile|cell|fax|direct|office|[mtf])\b\.?\s*:", re.I)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|www\.", re.I)
_SIG_WORD = re.compile(r"[A-Za-z\u00c0-\u017f][\w'\u00c0-\u017f.&-]*")
_SMALL_WORDS = {"of", "and", "the", "for", "de", "la", "von", "und", "der", "at", "&", "du", "in"}
_SEPARATOR_LINE = re.compile(r"^[\s*=_~#-]*$")


def clean_email_body(text: str) -> str:
    """Return the author's new text: cut at the first quote/forward header, drop `>` lines,
    a trailing confidentiality disclaimer and a trailing signature block."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u200b", "").replace("\ufeff", "")
    text, drop = _cut_quoted(text)
    lines = text.split("\n")
    if drop or ">" in text:
        lines = [ln for i, ln in enumerate(lines) if i not in drop and not ln.lstrip().startswith(">")]
    lines = _strip_disclaimer(lines)
    lines = _strip_signature(lines)
    while lines and _SEPARATOR_LINE.match(lines[-1]):
        lines.pop()
    return _squeeze("\n".join(lines))


def _cut_quoted(text: str) -> tuple[str, set[int]]:
    """Cut at the first quote/forward header; also return line numbers of dropped
    "... wrote:" headers that introduce `>` quotes (kept text may follow them)."""
    drop: set[int] = set()
    for m in _TRIGGER.finditer(text):
        start = m.start()
        kind = m.lastgroup
        if kind == "sep":
            return text[:start], drop
        nxt = text[start:start + 4000].split("\n", 40)
        if kind == "wrote":
            n = _wrote_header(nxt)
            if not n:
                continue
            rest = [ln.strip() for ln in nxt[n:] if ln.strip()]
            if rest and rest[0].startswith(">"):
                first = text.count("\n", 0, start)
                drop.update(range(first, first + n))
                continue
            return text[:start], drop
        if kind == "from":
            if _outlook_block(nxt):
                return text[:start], drop
        elif kind == "to":
            cut = _lotus_block(text, start, nxt)
            if cut is not None and text[:cut].strip():      # at the very top it is a memo header
                return text[:cut], drop
        elif kind == "sig":
            if text[:start].strip():
                return text[:start], drop
    return text, drop


def _wrote_header(lines: list[str]) -> int:
    """Number of lines (1-3) forming an "On ... wrote:" header at lines[0], else 0."""
    joined = ""
    for n in range(min(3, len(lines))):
        if not lines[n].strip():
            return 0
        joined = (joined + " " + lines[n].strip()) if joined else lines[n].strip()
        if len(joined) > 300:
            return 0
        if _WROTE_END.search(joined):
            starts_on = re.match(r"(?:On|Am|Le)\s", joined, re.I)
            if starts_on and not _HEADERISH.search(joined):
                return 0
            if not starts_on and n > 0:
                return 0
            return n + 1
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
    fields.discard("from")
    fields.discard("von")
    fields.discard("de")
    return bool(fields & _SENT_FIELDS) or len(fields) >= 2


def _lotus_block(text: str, start: int, lines: list[str]) -> int | None:
    """lines[0] is "To:"; a Lotus Notes header has cc:/Subject: below and a name, date or
    "Name@ORG" line above. Returns the offset where the header starts."""
    found = False
    blank = 0
    for ln in lines[1:40]:
        if _LOTUS_FIELD.match(ln):
            found = True
            break
        if not ln.strip():
            blank += 1
            if blank > 1:
                break
    if not found:
        return None
    above = text[:start].split("\n")
    above.pop()                                   # the (empty) part of the To: line
    i = len(above) - 1
    anchored = False
    top = len(above)
    seen = 0
    while i >= 0 and seen < 5:
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
    if not anchored:
        return None
    return sum(len(ln) + 1 for ln in above[:top])


def _strip_disclaimer(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    for m in _DISCLAIMER_START.finditer(text):
        if not text[: m.start(1)].strip():
            continue                      # a "Privileged and Confidential" label on top of the message
        para = text[m.start(1):]
        end = re.search(r"\n[ \t]*\n", para[40:])
        para = para[: end.start() + 40] if end else para
        if len(_DISCLAIMER_WORDS.findall(para)) >= 2:
            return text[: m.start(1)].split("\n")
    return lines


def _is_name(line: str) -> bool:
    words = line.strip().strip(",").split()
    if not 1 <= len(words) <= 4 or any(c.isdigit() or c in ":;?!" for c in line):
        return False
    return all(w[:1].isupper() or w.lower() in _SMALL_WORDS or w == "&" for w in words)


def _is_sigline(line: str) -> tuple[bool, bool]:
    """(looks like a signature line, is a contact line)."""
    s = line.strip()
    if _PHONE.search(s) or _CONTACT.search(s):
        return len(s) <= 80, True
    if len(s) > 60 or s[-1] in "?!:;" or (s[-1] == "." and not re.search(r"(?:\b\w|Inc|Ltd|Esq|Jr|Sr|Corp|Co)\.$", s)):
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
    if top is None or not _is_name(lines[top]):
        return lines
    j = top - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0:
        return lines                      # nothing above: the whole message would go
    if _VALEDICTION.match(lines[j]) or (contact and n >= 2 and j < top - 1):
        return lines[:top]
    return lines


# ------------------------------------------------------------------ HTML
_TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?\]\]>", re.S)
_DROP = re.compile(r"<(script|style|head|title|noscript|template|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_BLOCK = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|table|h[1-6]|blockquote|pre|hr|section|article|header|footer"
    r"|dd|dt|dl|address|center)\b[^>]*>", re.I)
_CELL = re.compile(r"<\s*/\s*t[dh]\s*>", re.I)


def html_to_text(markup: str) -> str:
    """Plain text from an HTML body: script/style/head dropped, blocks become line breaks,
    table cells are separated by spaces, entities are decoded."""
    if not markup:
        return ""
    markup = _COMMENT.sub("", markup)
    markup = _DROP.sub("", markup)
    markup = _BLOCK.sub("\n", markup)
    markup = _CELL.sub(" ", markup)
    return _squeeze(_html.unescape(_TAG.sub("", markup)))


def _squeeze(text: str) -> str:
    text = re.sub(r"[ \t\u00a0\u2007\u202f\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
