"""HTML bodies (email, Teams) to plain text, through lxml's HTML parser (libxml2).

The earlier regex pipeline was quadratic on hostile markup: every unclosed `<svg>`, `<a` or
`<![CDATA[` scanned to the end of the text again (200 KB of `<svg>` took 60 s). A real parser
reads the markup once; the tree is then walked once, so time grows linearly with the input.
libxml2 stops at 2,048 levels of nesting (unclosed <font> tags pile up in old mail) and would
drop the rest; such markup goes through a tag tokenizer whose every match ends at the next
'<', so that path is linear too.
"""

from __future__ import annotations

import html as _html
import re

from lxml import etree, html as lxml_html

#: Elements whose content is never text a person wrote.
_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "math", "object"})
#: Elements that start a new line.
_BLOCK = frozenset({
    "p", "div", "li", "ul", "ol", "tr", "table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "dl", "address",
    "center", "form", "fieldset", "figure", "figcaption", "main", "nav", "aside"})
_SOFT_BREAKS = re.compile(r"[ \t]*\x01[\x01 \t]*")
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"<!--|<(/?)([A-Za-z][^\s/<>]*)[^<>]*>")


def html_to_text(markup: str, mention_tag: str | None = None) -> str:
    """Plain text from an HTML body: comments, script/style/head/svg dropped, source line breaks
    are spaces (except inside <pre>), <br> is a line break, block elements start a new line,
    table cells are separated by spaces, entities are decoded. An element named `mention_tag`
    (Teams' <at>) becomes "@" + its text."""
    if not markup or not markup.strip():
        return ""
    parser = lxml_html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    try:
        root = lxml_html.document_fromstring(markup.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):      # nothing but comments or whitespace
        return ""
    if any("Excessive depth" in e.message for e in parser.error_log):
        return _tokenized_text(markup, mention_tag)
    out: list[str] = []
    skip = pre = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if skip or tag in _SKIP:
                skip += tag in _SKIP
                continue
            if tag == "br":
                out.append("\n")
            elif tag in _BLOCK:
                out.append("\x01")
                pre += tag == "pre"
            elif tag == mention_tag:
                out.append("@")
            if tag and el.text:
                out.append(el.text if pre else _SPACE.sub(" ", el.text))
            continue
        if skip:
            skip -= tag in _SKIP
            if skip:
                continue
        elif tag in _BLOCK:
            out.append("\x01")
            pre -= tag == "pre"
        elif tag in ("td", "th"):
            out.append(" ")
        if el.tail:
            out.append(el.tail if pre else _SPACE.sub(" ", el.tail))
    return _squeeze(_SOFT_BREAKS.sub("\n", "".join(out)))


def _tokenized_text(markup: str, mention_tag: str | None) -> str:
    """html_to_text for markup nested too deeply for libxml2: the same rules, applied to a flat
    stream of tags (no tree, so no depth limit)."""
    out: list[str] = []
    skip, pos, n = "", 0, len(markup)
    while pos < n:
        m = _TOKEN.search(markup, pos)
        end = m.start() if m else n
        if not skip and end > pos:
            out.append(_SPACE.sub(" ", _html.unescape(markup[pos:end])))
        if not m:
            break
        if m.group(0) == "<!--":
            close = markup.find("-->", m.end())
            pos = n if close < 0 else close + 3
            continue
        pos = m.end()
        closing, tag = m.group(1), m.group(2).lower()
        if skip:
            skip = "" if closing and tag == skip else skip
        elif tag in _SKIP and not closing:
            skip = tag
        elif tag == "br":
            out.append("\n")
        elif tag in _BLOCK:
            out.append("\x01")
        elif tag in ("td", "th") and closing:
            out.append(" ")
        elif tag == mention_tag and not closing:
            out.append("@")
    return _squeeze(_SOFT_BREAKS.sub("\n", "".join(out)))


def _squeeze(text: str) -> str:
    return squeeze_lines(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def squeeze_lines(lines: list[str]) -> str:
    """Collapse whitespace inside lines, drop edge blank lines, keep at most one blank line."""
    out: list[str] = []
    blank = False
    for line in lines:
        line = " ".join(line.split())
        if not line:
            blank = True
            continue
        if blank and out:
            out.append("")
        out.append(line)
        blank = False
    return "\n".join(out)
