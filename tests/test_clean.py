"""clean_email_body keeps only the author's new text; html_to_text gives readable text.

Fixtures: tests/fixtures/clean/NAME.txt (body as exported) and NAME.expected.txt (the
new text only), compared after whitespace normalisation. The Enron test runs on real
messages when the shared corpus is present and is skipped otherwise.
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

from friction.ingest.clean import clean_email_body, html_to_text

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "clean"
ENRON_SUB = Path("enron_berkeley_categories") / "enron_with_categories"
EXTERNAL = next((p for p in (Path("/work/shared/external"), ROOT.parent / "shared" / "external")
                 if p.is_dir()), None)

# Same definitions as scripts/eval_cleaning.py.
MARKER = re.compile(
    r"-{2,}\s*Original Message\s*-{2,}"
    r"|Forwarded by"
    r"|wrote:\s*$"
    r"|^[ \t]*>"
    r"|^[ \t]*From:.*\n(?:.*\n)?[ \t]*Sent:",
    re.I | re.M)
FIRST_QUOTE = re.compile(MARKER.pattern + r"|-{2,}\s*Forwarded message|^[ \t]*Begin forwarded message",
                         re.I | re.M)


def norm(text: str) -> str:
    return " ".join(text.split())


def _fixture_names():
    return sorted(p.name[:-4] for p in FIXTURES.glob("*.txt") if not p.name.endswith(".expected.txt"))


@pytest.mark.parametrize("name", _fixture_names())
def test_fixture(name):
    body = (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")
    expected = (FIXTURES / f"{name}.expected.txt").read_text(encoding="utf-8")
    assert norm(clean_email_body(body)) == norm(expected)


def test_fixture_set_is_complete():
    names = _fixture_names()
    assert len(names) >= 25
    assert all((FIXTURES / f"{n}.expected.txt").exists() for n in names)


@pytest.mark.parametrize("body", ["", "   \n\n ", "ok", "Thanks", "Mark"])
def test_trivial_bodies(body):
    assert clean_email_body(body) == body.strip()


def test_crlf_and_whitespace():
    body = "Line one  \r\n\r\n\r\n\r\n  Line\ttwo\r\n\r\nOn Mon, Jan 8, 2024 at 9:00 AM A <a@example.com> wrote:\r\n> x\r\n"
    assert clean_email_body(body) == "Line one\n\nLine two"


def test_html_to_text():
    markup = ("<html><head><title>t</title><style>p {color: red}</style></head><body>"
              "<script>var x = '<p>no</p>';</script><!-- hidden -->"
              "<p>Fish &amp; chips&nbsp;&mdash; 5 &lt; 6</p><div>second<br>third</div>"
              "<table><tr><td>a</td><td>b</td></tr></table><ul><li>one</li><li>two</li></ul></body></html>")
    assert html_to_text(markup) == "Fish & chips \u2014 5 < 6\nsecond\nthird\na b\none\ntwo"
    assert html_to_text("") == ""
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    assert html_to_text("<p>unclosed <script>alert(1)") == "unclosed"


def _load_enron():
    folder = EXTERNAL / ENRON_SUB
    if not folder.is_dir():
        pytest.skip(f"Enron corpus not at {folder}")
    bodies = []
    for path in sorted(folder.glob("*/*.txt")):
        with path.open("rb") as f:
            msg = email.message_from_binary_file(f, policy=policy.compat32)
        part = msg if not msg.is_multipart() else next(
            (p for p in msg.walk() if p.get_content_type() == "text/plain"), None)
        if part is not None:
            raw = part.get_payload(decode=True) or b""
            bodies.append(raw.decode(part.get_content_charset() or "latin-1", "replace"))
    return bodies


@pytest.mark.skipif(EXTERNAL is None, reason="shared/external corpora absent")
def test_enron_real_messages():
    """No quote/forward marker survives in >= 98% of real messages, and < 2% of messages
    that have new text of their own (text before the first quote/forward marker) are
    emptied. Pure forwards (~14% of this corpus) hold no new text and are emptied by
    design, so they are left out of the second ratio."""
    bodies = [b for b in _load_enron() if b.strip()]
    assert len(bodies) > 1000
    outs = [clean_email_body(b) for b in bodies]
    clean_share = sum(not MARKER.search(o) for o in outs) / len(outs)
    assert clean_share >= 0.98, clean_share
    authored = [(b, o) for b, o in zip(bodies, outs)
                if re.search(r"[^\W_]", b[: m.start()] if (m := FIRST_QUOTE.search(b)) else b)]
    emptied = sum(not o.strip() for _, o in authored) / len(authored)
    assert emptied < 0.02, emptied
