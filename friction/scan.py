"""`friction scan`: ingest -> classify -> store -> report, chunk by chunk.

Each chunk of the message table is classified, given a target team, pseudonymised and redacted,
then upserted into the DuckDB store; messages the store already holds for this model are
skipped, so re-scanning overlapping exports never double-counts and an interrupted scan resumes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from .ingest import IngestSummary, Roster, read_messages
from .privacy import DEFAULT_MIN_GROUP, Redactor, check_min_group, pseudonym
from .store import Store
from .teams import TeamFinder
from .trends import is_request, token_bag


@dataclass
class ScanOptions:
    inputs: Sequence[str]
    db: str = "friction.duckdb"
    out: str = "reports"
    roster: str | None = None
    period: str = "quarter"
    model: str | None = None
    min_group: int = DEFAULT_MIN_GROUP
    allow_small_groups: bool = False
    name_people: bool = False
    fresh: bool = False
    chunk_size: int = 2000
    progress: bool = True
    extra: dict = field(default_factory=dict)


def prepare(labelled: pd.DataFrame, model_id: str, scan_id: int, finder: TeamFinder, redactor: Redactor,
            secret: bytes, name_people: bool) -> pd.DataFrame:
    """A classified chunk -> store rows: target team, pseudonymised author, redacted evidence,
    token bag (redacted) and request flag. The raw text itself is not stored."""
    out = labelled.copy()
    texts = out["text"].tolist()
    out["target_team"] = finder.find(texts, out["author_team"].tolist(), out["recipients"].fillna("").tolist())
    out["recipient_teams"] = finder.recipient_teams(out["recipients"].fillna("").tolist())
    out["is_request"] = is_request(texts)
    flagged = out["labels"].fillna("") != ""
    bags = token_bag(redactor.redact(texts, ner=False))
    if flagged.any():
        idx = [i for i, f in enumerate(flagged) if f]
        red = redactor.redact([texts[i] for i in idx], ner=True)
        for i, r in zip(idx, token_bag(red)):
            bags[i] = r
        evidence = []
        for ev in out["evidence"].fillna(""):
            if not ev:
                evidence.append("")
                continue
            d = json.loads(ev)
            flat = [(lab, s) for lab, sents in d.items() for s in sents]
            red = redactor.redact([s for _, s in flat], ner=True)
            nd: dict[str, list[str]] = {}
            for (lab, _), r in zip(flat, red):
                nd.setdefault(lab, []).append(r)
            evidence.append(json.dumps(nd, ensure_ascii=False))
        out["evidence"] = evidence
    out["tokens"] = bags
    if not name_people:
        out["author"] = [pseudonym(a, secret) for a in out["author"].fillna("")]
    out["model_id"] = model_id
    out["scan_id"] = scan_id
    return out


def find_roster(inputs: Sequence[str]) -> str | None:
    """A roster.csv at the top of an input folder, used when --roster is not given."""
    for p in inputs:
        cand = Path(p) / "roster.csv"
        if Path(p).is_dir() and cand.is_file():
            return str(cand)
    return None


def run_scan(opts: ScanOptions) -> dict:
    """Run a whole scan; returns what happened (paths, counts) for the CLI to print."""
    from tqdm.auto import tqdm

    from .model import default_model_path, label_messages, load_model
    from .report import build_report

    check_min_group(opts.min_group, opts.allow_small_groups)
    model = load_model(opts.model)
    roster_path = opts.roster or find_roster(opts.inputs)
    if roster_path and not opts.roster:
        print(f"using the roster found in the input folder: {roster_path}", file=sys.stderr)
    roster = Roster.load(roster_path) if roster_path else Roster()
    summary = IngestSummary(echo=True)
    with Store(opts.db) as store:
        scan_id = store.begin_scan(opts.inputs, model.model_id, str(opts.model or default_model_path()), opts.period,
                                   opts.min_group, opts.allow_small_groups, opts.name_people,
                                   {"roster": roster_path, "fresh": opts.fresh, **opts.extra})
        secret = store.secret()
        finder = TeamFinder(roster)
        redactor = Redactor(names=roster.names, keep=roster.teams)
        new = 0
        bar = tqdm(desc="scanning", unit="msg", disable=not opts.progress, file=sys.stderr)
        for chunk in read_messages(opts.inputs, roster=roster, summary=summary, chunk_size=opts.chunk_size,
                                   exclude=[roster_path] if roster_path else []):
            if not opts.fresh:
                known = store.known_ids(chunk["id"].tolist(), model.model_id)
                chunk = chunk[~chunk["id"].isin(known)]
            if len(chunk):
                redactor_names = set(chunk["author"].dropna()) - set(roster.names)
                if redactor_names:  # display names found in the export itself are redacted too
                    redactor = Redactor(names=list(roster.names) + sorted(redactor_names), keep=roster.teams)
                labelled = label_messages(model, chunk)
                rows = prepare(labelled, model.model_id, scan_id, finder, redactor, secret, opts.name_people)
                new += store.upsert(rows, model.label_ids)
            bar.update(len(chunk))
        bar.close()
        store.finish_scan(scan_id, summary.as_dict(), new)
        paths = build_report(store, opts.out, period=opts.period, min_group=opts.min_group)
    return {"scan_id": scan_id, "new_messages": new, "ingest": summary.as_dict(), "report": paths}
