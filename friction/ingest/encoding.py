"""Text encodings of the files we read: byte-order marks first, then UTF-8.

Exports from Windows tools are often UTF-16 with a BOM; without this they read as
binary noise ("no cues", "no text column"). Anything that is not valid in the encoding it
claims is decoded with U+FFFD replacement characters, and `read_messages` warns about and
counts each row where that happened.
"""

from __future__ import annotations

import codecs

_BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)

#: Replacement character: what undecodable bytes became.
REPLACEMENT = "\ufffd"


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `head` names, else None."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def text_encoding(head: bytes) -> str:
    """Encoding to read a text file with: the BOM's, else UTF-8 (a UTF-8 BOM is dropped)."""
    return bom_encoding(head) or "utf-8-sig"


def decode_text(data: bytes) -> str:
    """Bytes of a text file to str: BOM-aware, bad bytes replaced (never fatal)."""
    return data.decode(text_encoding(data[:4]), errors="replace")


def utf8_head(head: bytes) -> bytes:
    """The start of a file as UTF-8 bytes, so that content sniffing works on UTF-16/32 files too."""
    enc = bom_encoding(head)
    if enc is None or enc == "utf-8-sig":
        return head[3:] if enc else head
    return head.decode(enc, errors="ignore").encode("utf-8")
