"""Keep only the new text of a message: quotes, forwards, signatures and disclaimers go.

Friction inside a quoted message must not be counted again in the reply, so every
email body passes through :func:`clean_email_body` before it reaches the table.
"""

from __future__ import annotations

import html as _html
import re

_QUOTE_HEADERS = [
    re.compile(r"^\s*On .{1,200}wrote:\s*$", re.M | re.S),                 # Gmail / Apple Mail
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.M | re.I),   # Outlook
    re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.M | re.I),  # Gmail forward
    re.compile(r"^\s*-{5,} Forwarded by .*$", re.M),                         # Lotus Notes forward
    re.compile(r"^\s*From:\s.+\n\s*(Sent|Date):\s.+$", re.M),               # Outlook inline header block
    re.compile(r"^_{20,}\s*$", re.M),                                        # Outlook separator line
]
_SIGNATURE = re.compile(r"^(-- ?|Sent from my \w+.*|Get Outlook for \w+.*)$", re.M)
_DISCLAIMER = re.compile(
    r"^.*\b(this (e-?mail|message)( and any attachments)? (is|are|may be) (confidential|intended)"
    r"|confidentiality notice|disclaimer:)", re.M | re.I)


def clean_email_body(text: str) -> str:
    """Return the author's new text: cut at the first quote/forward header, drop `>` lines,
    signatures and confidentiality disclaimers."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = len(text)
    for pat in _QUOTE_HEADERS:
        m = pat.search(text)
        if m and m.start() < cut:
            cut = m.start()
    text = text[:cut]
    for pat in (_SIGNATURE, _DISCLAIMER):
        m = pat.search(text)
        if m:
            text = text[: m.start()]
    lines = [ln for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    return _squeeze("\n".join(lines))


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.I)
_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)


def html_to_text(markup: str) -> str:
    """Plain text from an HTML body: blocks become line breaks, entities are decoded."""
    markup = _DROP.sub("", markup)
    markup = _BLOCK.sub("\n", markup)
    return _squeeze(_html.unescape(_TAG.sub("", markup)))


def _squeeze(text: str) -> str:
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
