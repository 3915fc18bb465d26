"""The scan's classify stage: message-table chunk -> store rows, the same in this process, in a
pool worker or on a Dask worker (see friction/engines.py).

Each chunk is run through the model folder's pipeline (screen -> classifier -> evidence), then
given a target team, pseudonymised and redacted (`prepare`). The heavy objects (pipeline, team
finder) are built once per process and per `StageConfig`.
"""

from __future__ import annotations

import json
import os
import resource
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from .ingest import Roster
from .memory import release_memory
from .privacy import Redactor, hashed_id, pseudonym
from .teams import TeamFinder
from .timings import Timings, clock
from .trends import is_request, token_bag


@dataclass(frozen=True)
class StageConfig:
    """Everything a worker needs to classify chunks; small and picklable."""

    model_path: str | None
    roster_path: str | None
    secret_hex: str
    name_people: bool
    scan_id: int
    cascade: bool = True
    threads: int = 0
    precision: str | None = None   # None: the folder's setting (auto: bf16 where the CPU has it)


@lru_cache(maxsize=2)
def _heavy(cfg: StageConfig):
    """Per-process heavy objects (pipeline, roster, team finder), built once and reused."""
    from .model import load_model

    pipe = load_model(cfg.model_path, precision=cfg.precision)
    if not cfg.cascade:
        pipe = pipe.without("screen")
    if cfg.threads:  # after loading: the encoder claims every core it may run on
        pipe.classifier.set_threads(cfg.threads)
    roster = Roster.load(cfg.roster_path) if cfg.roster_path else Roster()
    return pipe, roster, TeamFinder(roster)


def runtime_of(cfg: StageConfig) -> str:
    """The runtime this process runs the transformer on (loads the stage if needed)."""
    return _heavy(cfg)[0].runtime


def classify_chunk(chunk: pd.DataFrame, cfg: StageConfig, timings: Timings | None = None) -> pd.DataFrame:
    """Message-table chunk -> store rows."""
    pipe, roster, finder = _heavy(cfg)
    if chunk.empty:
        return pd.DataFrame()
    # every roster name, alias, handle and address, and every author as exported
    names = sorted(set(roster.names) | set(roster.people) | set(chunk["author"].dropna()))
    redactor = Redactor(names=names, keep=roster.teams)
    labelled = pipe(chunk, timings=timings)
    with clock(timings, "prepare: teams, redaction, tokens"):
        rows = prepare(labelled, pipe.model_id, cfg.scan_id, finder, redactor, bytes.fromhex(cfg.secret_hex),
                       cfg.name_people)
    release_memory()
    return rows


def classify_chunk_timed(chunk: pd.DataFrame, cfg: StageConfig) -> tuple[pd.DataFrame, dict]:
    """`classify_chunk` in a worker process: the rows, and that worker's timings, runtime and
    peak RSS as a plain dict for the driver to merge."""
    timings = Timings()
    rows = classify_chunk(chunk, cfg, timings)
    timings.peak(f"peak RSS MB: worker {os.getpid()}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    timings.count(f"runtime: {runtime_of(cfg)}")
    return rows, timings.as_dict()


def prepare(labelled: pd.DataFrame, model_id: str, scan_id: int, finder: TeamFinder, redactor: Redactor,
            secret: bytes, name_people: bool) -> pd.DataFrame:
    """A classified chunk -> store rows: target team, pseudonymised author, keyed hashes for the
    message id, thread id and reply link, redacted evidence, token bag (redacted, no roster
    word) and request flag. The raw text, the subject and the origin file are not stored."""
    out = labelled.copy()
    texts = out["text"].tolist()
    out["target_team"] = finder.find(texts, out["author_team"].tolist(), out["recipients"].fillna("").tolist())
    out["recipient_teams"] = finder.recipient_teams(out["recipients"].fillna("").tolist())
    out["is_request"] = is_request(texts)
    bags = token_bag(redactor.redact_for_counting(texts), drop=redactor.words)
    evidence = out["evidence"].fillna("").tolist()
    out["context"] = redact_evidence(evidence_context(texts, evidence), redactor, pairs=True)
    out["evidence"] = redact_evidence(evidence, redactor)
    out["tokens"] = bags
    if not name_people:
        out["author"] = [pseudonym(a, secret) for a in out["author"].fillna("")]
    for col in ("id", "thread_id", "reply_to"):
        out[col] = [hashed_id(str(v), secret) for v in out[col].fillna("")] if col in out else ""
    out["model_id"] = model_id
    out["scan_id"] = scan_id
    return out.drop(columns=["text"])


def redact_evidence(evidence: list[str], redactor: Redactor, pairs: bool = False) -> list[str]:
    """Evidence JSON with every sentence redacted (NER included: these are shown), all of a
    chunk's sentences in one batch. pairs: the values are [before, after] pairs (the context)."""
    parsed = [json.loads(ev) if ev else {} for ev in evidence]
    flat = [x for d in parsed for sents in d.values() for s in sents for x in (s if pairs else [s])]
    redacted = iter(redactor.redact(flat, ner=True))
    take = (lambda s: [next(redacted) for _ in s]) if pairs else (lambda s: next(redacted))
    return [json.dumps({lab: [take(s) for s in sents] for lab, sents in d.items()}, ensure_ascii=False)
            if d else "" for d in parsed]


def evidence_context(texts: list[str], evidence: list[str]) -> list[str]:
    """For each evidence sentence, the sentence before and after it in its message ('' at an
    edge), as JSON {label: [[before, after], ...]} aligned with the evidence: a sentence alone
    is often too short to judge. A neighbour of fewer than four words is left out: greetings and
    sign-offs ('Hi Leo,', 'Thanks, Priya') add no meaning and are where names sit. Only
    messages with evidence are split."""
    from .model.sentences import split_sentences

    rows = [i for i, ev in enumerate(evidence) if ev]
    out = [""] * len(evidence)
    for i, sents in zip(rows, split_sentences([texts[i] or "" for i in rows])):
        ctx = {}
        for lab, shown in json.loads(evidence[i]).items():
            pairs = []
            for s in shown:
                j = sents.index(s) if s in sents else -1
                near = ["", ""] if j < 0 else [sents[j - 1] if j > 0 else "", sents[j + 1] if j + 1 < len(sents) else ""]
                pairs.append([n if len(n.split()) >= 4 else "" for n in near])
            ctx[lab] = pairs
        out[i] = json.dumps(ctx, ensure_ascii=False)
    return out
