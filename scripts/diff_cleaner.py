#!/usr/bin/env python
"""How a change to the email cleaner changes its output on real mail.

Cleans every body with ``friction/ingest/clean.py`` as it was at git revision REF (default
``main``) and as it is in this checkout, and prints how many messages changed, how many became
shorter or longer, and the characters removed. With ``--sample FILE`` it writes N changed
messages (before / after / removed lines) to FILE for a person to read; FILE must lie outside the
repository (the corpora are real mail and never go into it).

Corpora (each skipped when absent): Enron AESLC bodies (``enron_aeslc/*.jsonl``; one sentence a
line, so block structure is partly lost) and the kernel mailing-list mboxes
(``maillist_kernel_ksummit/*.mbox``) under ``--shared``, and the raw Berkeley Enron messages
under ``--external`` (evaluation data: read, never trained on).

Usage: python scripts/diff_cleaner.py [--ref main] [--shared ../shared/external_train]
                                      [--sample /tmp/changed.txt -n 30]
"""

from __future__ import annotations

import argparse
import difflib
import glob
import importlib.util
import json
import mailbox
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from friction.ingest.clean import clean_email_body  # noqa: E402
from friction.ingest.email_reader import body_text  # noqa: E402


def cleaner_at(ref: str):
    """clean_email_body from clean.py at a git revision (the module imports only the stdlib,
    plus html_text in newer revisions, which is stubbed: only the plain-text path runs)."""
    src = subprocess.run(["git", "-C", ROOT, "show", f"{ref}:friction/ingest/clean.py"], check=True,
                         capture_output=True, text=True).stdout
    src = src.replace("from .html_text import html_to_text", "html_to_text = None")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(src)
    spec = importlib.util.spec_from_file_location(f"clean_at_{ref}", fh.name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    os.unlink(fh.name)
    return mod.clean_email_body


def enron_bodies(shared: str):
    for path in sorted(glob.glob(os.path.join(shared, "enron_aeslc", "*.jsonl"))):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                yield "enron", json.loads(line)["body"]


def kernel_bodies(shared: str):
    for path in sorted(glob.glob(os.path.join(shared, "maillist_kernel_ksummit", "*.mbox"))):
        for msg in mailbox.mbox(path, create=False):
            yield "kernel", body_text(msg)


def berkeley_bodies(external: str):
    import email
    from email import policy

    for path in sorted(glob.glob(os.path.join(external, "enron_berkeley_categories", "enron_with_categories",
                                              "*", "*.txt"))):
        with open(path, "rb") as fh:
            yield "enron-berkeley", body_text(email.message_from_binary_file(fh, policy=policy.compat32))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default="main")
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "external_train"))
    ap.add_argument("--external", default=os.path.join(ROOT, "..", "shared", "external"))
    ap.add_argument("--sample", default=None, help="write changed messages here (outside the repo)")
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    if args.sample and os.path.abspath(args.sample).startswith(ROOT + os.sep):
        sys.exit("--sample must lie outside the repository: the corpora are real mail")
    before = cleaner_at(args.ref)
    stats: dict[str, dict[str, int]] = {}
    changed = []
    for corpus, body in [*enron_bodies(args.shared), *kernel_bodies(args.shared), *berkeley_bodies(args.external)]:
        st = stats.setdefault(corpus, {"messages": 0, "changed": 0, "shorter": 0, "longer": 0, "chars_removed": 0})
        old, new = before(body), clean_email_body(body)
        st["messages"] += 1
        if old != new:
            st["changed"] += 1
            st["shorter" if len(new) < len(old) else "longer"] += 1
            st["chars_removed"] += max(0, len(old) - len(new))
            changed.append((corpus, old, new))
    for corpus, st in stats.items():
        share = st["changed"] / st["messages"] if st["messages"] else 0
        print(f"{corpus}: {st['messages']} messages, {st['changed']} changed ({share:.2%}): "
              f"{st['shorter']} shorter, {st['longer']} longer, {st['chars_removed']} characters removed")
    if args.sample and changed:
        random.Random(0).shuffle(changed)
        with open(args.sample, "w", encoding="utf-8") as out:
            for corpus, old, new in changed[: args.n]:
                removed = [ln[2:] for ln in difflib.ndiff(old.split("\n"), new.split("\n")) if ln.startswith("- ")]
                out.write(f"===== {corpus}\n--- after:\n{new}\n--- removed lines:\n" + "\n".join(removed) + "\n\n")
        print(f"wrote {min(args.n, len(changed))} changed messages to {args.sample}")


if __name__ == "__main__":
    main()
