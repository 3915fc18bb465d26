"""Read a batch of real messages and record one annotator's labels, page by page.

    python scripts/annotate.py show DIR BATCH PAGE [--size 20]
    python scripts/annotate.py put DIR BATCH ANNOTATOR < judgements

DIR is the folder `scripts/sample_real.py --out DIR` wrote (outside the repository: the batches
hold real text). `put` reads one judgement per line, `ITEM | labels | note` (labels: ids of the
guide separated by `;`, or `none`; a note starting `UNCLEAR:` says where the guide did not
decide), appends them to DIR/out/BATCH.jsonl (a resent item: the later line wins) and says
which items are still missing; `scripts/build_real_corpus.py --annot DIR` folds the readings
into corpora/real/labels.csv. How to read: corpora/real/ANNOTATING.md. The annotator judges;
this script only shows and records.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from friction.labels import DEFAULT_LABEL_IDS  # noqa: E402


def batch_rows(folder: Path, batch: str) -> list[dict]:
    path = folder / "batches" / f"{batch}.jsonl"
    if not path.exists():
        raise SystemExit(f"{path}: no such batch")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def show(folder: Path, batch: str, page: int, size: int = 20) -> str:
    """One page of a batch (page 1 = items 1..size), numbered as `put` expects them."""
    rows = batch_rows(folder, batch)
    pages = max(1, (len(rows) + size - 1) // size)
    out = [f"# {batch}: {len(rows)} messages, page {page} of {pages}"]
    for i, row in enumerate(rows[(page - 1) * size: page * size], start=(page - 1) * size + 1):
        out += ["", f"=== [{i}] key={row['key']}  channel={row.get('channel', '')}", row["text"]]
    return "\n".join(out)


def parse_judgement(line: str, n_items: int) -> tuple[int, list[str], str]:
    """(item, labels, note) from `ITEM | labels | note`; ValueError saying what is wrong."""
    parts = [p.strip() for p in line.split("|", 2)]
    if len(parts) < 2:
        raise ValueError("expected ITEM | labels | note")
    try:
        item = int(parts[0].strip("[] "))
    except ValueError:
        raise ValueError(f"item {parts[0]!r} is not a number") from None
    if not 1 <= item <= n_items:
        raise ValueError(f"item {item} is not in 1..{n_items}")
    labels = sorted({lab.strip() for lab in parts[1].replace(",", ";").split(";") if lab.strip()})
    labels = [] if labels in ([], ["none"]) else labels
    unknown = [lab for lab in labels if lab not in DEFAULT_LABEL_IDS]
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}")
    return item, labels, parts[2] if len(parts) > 2 else ""


def put(folder: Path, batch: str, annotator: str, lines: list[str]) -> tuple[int, list[str], list[int]]:
    """Record judgements; returns (recorded, rejected lines with the reason, items still missing)."""
    rows = batch_rows(folder, batch)
    recorded, rejected = [], []
    for line in lines:
        if not line.strip():
            continue
        try:
            item, labels, note = parse_judgement(line, len(rows))
        except ValueError as err:
            rejected.append(f"{line.strip()!r}: {err}")
            continue
        recorded.append({"item": item, "key": rows[item - 1]["key"], "labels": ";".join(labels),
                         "note": note, "annotator": annotator})
    out = folder / "out" / f"{batch}.jsonl"
    out.parent.mkdir(exist_ok=True)
    with open(out, "a", encoding="utf-8") as f:
        for r in recorded:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    done = {json.loads(line)["item"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    return len(recorded), rejected, sorted(set(range(1, len(rows) + 1)) - done)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("show")
    s.add_argument("dir", type=Path)
    s.add_argument("batch")
    s.add_argument("page", type=int)
    s.add_argument("--size", type=int, default=20)
    p = sub.add_parser("put")
    p.add_argument("dir", type=Path)
    p.add_argument("batch")
    p.add_argument("annotator")
    args = ap.parse_args()
    if args.command == "show":
        print(show(args.dir, args.batch, args.page, args.size))
        return
    n, rejected, missing = put(args.dir, args.batch, args.annotator, sys.stdin.read().splitlines())
    for line in rejected:
        print(f"REJECTED (fix and resend): {line}", file=sys.stderr)
    print(f"recorded {n} (rejected {len(rejected)}); missing: {missing[:15]}{' ...' if len(missing) > 15 else ''}")


if __name__ == "__main__":
    main()
