#!/usr/bin/env python
"""Compare reply/forward/signature strippers on our fixtures and on raw Enron mail.

Candidates: mail-parser-reply, email-reply-parser, talon (regex ``extract_from_plain``,
if installed) and our ``friction.ingest.clean.clean_email_body``.

* Fixtures (tests/fixtures/clean/NAME.txt + NAME.expected.txt): exact-match rate after
  whitespace normalisation and mean character-level similarity (difflib ratio).
* Enron (raw messages, text/plain body; no gold): share of outputs that still contain a
  quote/forward marker, share of non-empty bodies emptied completely, mean kept length
  ratio, and throughput. Skipped with a message when the folder is absent.

Usage: python scripts/experiments/eval_cleaning.py [--enron DIR] [--repeat N]

One-off experiment. Decided: our own cleaner (friction/ingest/clean.py); the others are only
compared here (`pip install -e ".[train]"` installs them).
"""

from __future__ import annotations

import argparse
import difflib
import email
import glob
import os
import re
import sys
import time
from email import policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "clean")
ENRON_SUB = os.path.join("enron_berkeley_categories", "enron_with_categories")
ENRON_CANDIDATES = [
    os.path.join("/work/shared/external", ENRON_SUB),
    os.path.join(ROOT, "..", "shared", "external", ENRON_SUB),
]

# A quote/forward marker that should not survive cleaning (same definition as tests/test_clean.py).
MARKER = re.compile(
    r"-{2,}\s*Original Message\s*-{2,}"          # Outlook
    r"|Forwarded by"                              # Lotus Notes
    r"|wrote:\s*$"                                # "On ... wrote:" (header form, line end)
    r"|^[ \t]*>"                                  # quoted line
    r"|^[ \t]*From:.*\n(?:.*\n)?[ \t]*Sent:",     # Outlook "From: ... Sent:" block
    re.I | re.M)


# Where quoted/forwarded content begins, to tell messages with new text of their own from
# pure forwards (a pure forward is emptied by design: it holds no new text).
FIRST_QUOTE = re.compile(MARKER.pattern + r"|-{2,}\s*Forwarded message|^[ \t]*Begin forwarded message", re.I | re.M)


def has_new_text(body: str) -> bool:
    m = FIRST_QUOTE.search(body)
    return bool(re.search(r"[^\W_]", body[: m.start()] if m else body))


def norm(text: str | None) -> str:
    return " ".join((text or "").split())


# ---------------------------------------------------------------- candidates
def _candidates():
    out = []
    try:
        from mailparser_reply import EmailReplyParser as MPR

        mpr = MPR(languages=["en", "de", "fr"])

        def mail_parser_reply(text):
            msg = mpr.read(text)
            return msg.replies[0].body if msg.replies else ""   # latest reply, w/o signature/disclaimer
        out.append(("mail-parser-reply", mail_parser_reply))
    except ImportError as e:
        print(f"[skip] mail-parser-reply: {e}")
    try:
        from email_reply_parser import EmailReplyParser as ERP
        out.append(("email-reply-parser", lambda text: ERP.parse_reply(text)))
    except ImportError as e:
        print(f"[skip] email-reply-parser: {e}")
    try:
        import logging
        logging.getLogger("talon").setLevel(logging.ERROR)
        from talon import quotations
        out.append(("talon extract_from_plain", quotations.extract_from_plain))
    except Exception as e:  # talon is old (2017) and may not import
        print(f"[skip] talon: {type(e).__name__}: {e}")
    from friction.ingest.clean import clean_email_body
    out.append(("friction clean_email_body", clean_email_body))
    return out


# ---------------------------------------------------------------- data
def load_fixtures(folder: str = FIXTURES):
    pairs = []
    for path in sorted(glob.glob(os.path.join(folder, "*.txt"))):
        if path.endswith(".expected.txt"):
            continue
        exp = path[:-4] + ".expected.txt"
        with open(path, encoding="utf-8") as f, open(exp, encoding="utf-8") as g:
            pairs.append((os.path.basename(path)[:-4], f.read(), g.read()))
    return pairs


def find_enron(explicit: str | None = None):
    for d in ([explicit] if explicit else ENRON_CANDIDATES):
        if d and os.path.isdir(d):
            return d
    return None


def plain_body(msg) -> str:
    part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
    if part is None:
        return ""
    raw = part.get_payload(decode=True) or b""
    return raw.decode(part.get_content_charset() or "latin-1", "replace")


def load_enron(folder: str):
    bodies = []
    for path in sorted(glob.glob(os.path.join(folder, "*", "*.txt"))):
        with open(path, "rb") as f:
            bodies.append(plain_body(email.message_from_binary_file(f, policy=policy.compat32)))
    return bodies


# ---------------------------------------------------------------- metrics
def eval_fixtures(fn, pairs, repeat=20):
    exact, sims, failed = 0, [], []
    for name, body, exp in pairs:
        got = norm(fn(body))
        want = norm(exp)
        exact += got == want
        sims.append(difflib.SequenceMatcher(None, got, want, autojunk=False).ratio())
        if got != want:
            failed.append(name)
    t = time.perf_counter()
    for _ in range(repeat):
        for _, body, _ in pairs:
            fn(body)
    rate = repeat * len(pairs) / (time.perf_counter() - t)
    return exact / len(pairs), sum(sims) / len(sims), rate, failed


def eval_enron(fn, bodies):
    t = time.perf_counter()
    outs = [fn(b) or "" for b in bodies]
    rate = len(bodies) / (time.perf_counter() - t)
    nonempty = [(b, o) for b, o in zip(bodies, outs) if b.strip()]
    marker = sum(bool(MARKER.search(o)) for o in outs) / len(outs)
    emptied = sum(not o.strip() for _, o in nonempty) / len(nonempty)
    authored = [o for b, o in nonempty if has_new_text(b)]
    emptied_new = sum(not o.strip() for o in authored) / len(authored)
    ratio = sum(min(1.0, len(norm(o)) / max(1, len(norm(b)))) for b, o in nonempty) / len(nonempty)
    return marker, emptied, emptied_new, ratio, rate


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enron", help="folder with */*.txt raw Enron messages")
    ap.add_argument("--repeat", type=int, default=50, help="timing repeats over the fixtures")
    ap.add_argument("--show-failures", action="store_true")
    args = ap.parse_args(argv)

    pairs = load_fixtures()
    folder = find_enron(args.enron)
    bodies = load_enron(folder) if folder else []
    if not folder:
        print("[skip] Enron folder not found; Enron columns left blank")
    rows = []
    for name, fn in _candidates():
        fx = eval_fixtures(fn, pairs, args.repeat)
        en = eval_enron(fn, bodies) if bodies else None
        rows.append((name, fx, en))

    print(f"\nfixtures: {len(pairs)} pairs in {os.path.relpath(FIXTURES, ROOT)}"
          + (f"; Enron: {len(bodies)} messages in {folder} "
             f"({sum(has_new_text(b) for b in bodies)} with text before the first quote/forward)"
             if bodies else ""))
    hdr = (f"{'method':<26} {'fx exact':>8} {'fx sim':>7} {'fx msg/s':>9} | "
           f"{'marker left':>11} {'emptied':>8} {'emptied*':>8} {'kept len':>8} {'enron msg/s':>11}")
    print(hdr)
    print("-" * len(hdr))
    for name, (ex, sim, rate, failed), en in rows:
        line = f"{name:<26} {ex:>8.1%} {sim:>7.3f} {rate:>9,.0f} | "
        line += (f"{en[0]:>11.1%} {en[1]:>8.1%} {en[2]:>8.1%} {en[3]:>8.3f} {en[4]:>11,.0f}" if en
                 else f"{'-':>11} {'-':>8} {'-':>8} {'-':>8} {'-':>11}")
        print(line)
    print("marker left: output still has a quote/forward marker; emptied: share of non-empty bodies "
          "emptied;\nemptied*: same among bodies with text before the first quote/forward marker; "
          "kept len: mean output/input length.")
    if args.show_failures:
        for name, fx, _ in rows:
            print(f"\n{name} fails: {', '.join(fx[3]) or '-'}")


if __name__ == "__main__":
    main()
