#!/usr/bin/env python
"""Flag rates of a friction model on real public text written by strangers (evaluation only).

The datasets live beside the repository in ``../shared/external`` (see each folder's SOURCE.md).
They are never used to train or tune anything, and nothing from them is copied into the repo:
this script only reads them and prints aggregate figures.

Groups ("flag rate" = share of texts with at least one label predicted):

1. Enron (Berkeley tone labels): hostile tone (4.13 competitiveness/aggressiveness, 4.16 anger/agitation,
   4.19 dislike/scorn) vs no tone label at all. Bodies are the text/plain part, cleaned with
   ``friction.ingest.clean.clean_email_body``; empty bodies are skipped.
2. ToxiCR code review: toxic vs clean comments (deduplicated; texts carrying both labels dropped).
   Relevant label: culture_clash.
3. Stanford politeness: impolite (bottom quartile of the normalized score, per file) vs polite
   (top quartile), Wikipedia + Stack Exchange. Relevant label: culture_clash.
4. STRUDEL GitHub issue comments: toxic vs non-toxic.
5. Ordinary chatter (false alarms): Ubuntu IRC lines (#ubuntu dev/test logs and the ubuntu-meeting
   channel) and AMI meeting speaker turns, each at least 4 words.

For each pair the ratio hostile/neutral is printed. The project's goal: hostile groups flagged at
least 4x as often as their neutral counterparts, ordinary chatter flagged at most 3% of the time.
This script only reports; it tunes nothing. The loading and scoring live in `friction.external`.

Usage:
    python scripts/eval_external.py [--model PATH] [--external PATH] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from friction.external import (GOAL_CHATTER, GOAL_RATIO, MAX_CHARS, SEED, goal_summary,  # noqa: E402
                               json_safe, load_groups, markdown_table, score_groups)

DEFAULT_EXTERNAL = os.path.normpath(os.path.join(ROOT, "..", "shared", "external"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--external", default=DEFAULT_EXTERNAL, help="external datasets folder (default: %(default)s)")
    ap.add_argument("--limit", type=int, default=2000,
                    help="max texts per group (default 2000); the two chatter groups get 1.5x this (3000)")
    ap.add_argument("--json", dest="json_out", default=None, help="write all figures to this JSON file")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)

    external = args.external
    if not external or not os.path.isdir(external):
        print(f"External datasets folder not found: {external} -- nothing to evaluate (skipped).")
        return 0
    limit = args.limit if args.limit and args.limit > 0 else None
    chatter_limit = int(round(1.5 * limit)) if limit else None

    from friction.model import load_model

    t0 = time.time()
    groups = load_groups(external, limit, chatter_limit)
    t_load = time.time() - t0
    if not args.quiet:
        print(f"loaded {sum(len(g['texts']) for g in groups)} texts in {len(groups)} groups ({t_load:.0f}s)",
              file=sys.stderr, flush=True)
    model = load_model(args.model)
    results = score_groups(model, groups, progress=not args.quiet)

    model_desc = args.model or "default (shipped)"
    print(f"Flag rates on external public text (evaluation only) - model: {model_desc} [{model.model_id}]")
    print()
    print(markdown_table(results))
    print()
    print(goal_summary(results))

    if args.json_out:
        payload = {
            "model": model_desc,
            "model_id": model.model_id,
            "label_ids": list(model.label_ids),
            "external": os.path.abspath(external),
            "limit": limit,
            "chatter_limit": chatter_limit,
            "seed": SEED,
            "max_chars": MAX_CHARS,
            "goals": {"min_ratio": GOAL_RATIO, "max_chatter_rate": GOAL_CHATTER},
            "seconds": round(time.time() - t0, 1),
            "groups": results,
            "markdown": markdown_table(results) + "\n\n" + goal_summary(results),
        }
        os.makedirs(os.path.dirname(os.path.abspath(args.json_out)), exist_ok=True)
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(json_safe(payload), f, indent=2, ensure_ascii=False)
        print(f"\nwrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
