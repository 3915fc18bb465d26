"""`friction scan`: ingest -> classify -> store -> report, chunk by chunk.

Each chunk of the message table is classified, given a target team, pseudonymised and redacted
(`classify_chunk`, a plain function of a DataFrame), then upserted into the DuckDB store.
Messages the store already holds for this model are skipped, so re-scanning overlapping exports
never double-counts and an interrupted scan resumes where it stopped.

Engines: `local` (this process), `pool` (--workers N local processes), `dask` (map_partitions on a
Dask distributed cluster; results go through partitioned Parquet into the store).
"""

from __future__ import annotations

import json
import sys
import types
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from .ingest import IngestSummary, Limits, Roster, read_messages
from .memory import release_memory
from .privacy import DEFAULT_MIN_GROUP, Redactor, check_min_group, hashed_id, pseudonym
from .settings import current_settings
from .store import Store
from .teams import TeamFinder
from .trends import is_request, token_bag


#: Seconds per stage of the local engine, when a benchmark sets it to a Counter.
TIMINGS = None


def _clock():
    from .model import _Clock

    return _Clock(TIMINGS)


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
    chunk_size: int = field(default_factory=lambda: current_settings().scan_chunk)
    progress: bool = True
    engine: str = "local"          # local | pool | dask
    workers: int = 1
    scheduler: str | None = None   # dask scheduler address; None starts a LocalCluster
    cascade: bool = True
    key_file: str | None = None    # the pseudonym key (default: <db>.key)
    wait: bool = False             # wait for another scan on the same store instead of stopping
    max_chars: int = Limits.max_chars   # text kept per message: bounds every stage's memory
    extra: dict = field(default_factory=dict)


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
    timed: bool = False            # send per-stage timings back with the rows (benchmarks)


@lru_cache(maxsize=2)
def _stage(cfg: StageConfig):
    """Per-process heavy objects (model, team finder), built once and reused for every chunk."""
    from .model import load_model

    model = load_model(cfg.model_path)
    if cfg.threads:  # after loading: the encoder claims every core it may run on
        import torch

        torch.set_num_threads(cfg.threads)
    roster = Roster.load(cfg.roster_path) if cfg.roster_path else Roster()
    return model, roster, TeamFinder(roster)


def classify_chunk(chunk: pd.DataFrame, cfg: StageConfig) -> pd.DataFrame:
    """Message-table chunk -> store rows. Runs the same in-process, in a pool or on Dask."""
    from .model import _Clock, label_messages

    model, roster, finder = _stage(cfg)
    if chunk.empty:
        return pd.DataFrame()
    # In a worker process TIMINGS is unset: timings then travel back with the rows (attrs).
    timings = TIMINGS if TIMINGS is not None else (Counter() if cfg.timed else None)
    # every roster name, alias, handle and address, and every author as exported
    names = sorted(set(roster.names) | set(roster.people) | set(chunk["author"].dropna()))
    redactor = Redactor(names=names, keep=roster.teams)
    labelled = label_messages(model, chunk, cascade=cfg.cascade, timings=timings)
    with _Clock(timings)("prepare: teams, redaction, tokens"):
        rows = prepare(labelled, model.model_id, cfg.scan_id, finder, redactor, bytes.fromhex(cfg.secret_hex),
                       cfg.name_people)
    if timings is not None and timings is not TIMINGS:
        rows.attrs["timings"] = dict(timings)
    release_memory()
    return rows


def merge_timings(rows: pd.DataFrame) -> None:
    """Add a worker's stage timings (sent back with its rows) to TIMINGS, when a benchmark set it."""
    if TIMINGS is not None:
        TIMINGS.update(rows.attrs.get("timings", {}))


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
    out["evidence"] = _redact_evidence(out["evidence"].fillna("").tolist(), redactor)
    out["tokens"] = bags
    if not name_people:
        out["author"] = [pseudonym(a, secret) for a in out["author"].fillna("")]
    for col in ("id", "thread_id", "reply_to"):
        out[col] = [hashed_id(str(v), secret) for v in out[col].fillna("")] if col in out else ""
    out["model_id"] = model_id
    out["scan_id"] = scan_id
    return out.drop(columns=["text"])


def _redact_evidence(evidence: list[str], redactor: Redactor) -> list[str]:
    """Evidence JSON with every sentence redacted (NER included: these are shown), all of a
    chunk's sentences in one batch."""
    parsed = [json.loads(ev) if ev else {} for ev in evidence]
    redacted = iter(redactor.redact([s for d in parsed for sents in d.values() for s in sents], ner=True))
    return [json.dumps({lab: [next(redacted) for _ in sents] for lab, sents in d.items()}, ensure_ascii=False)
            if d else "" for d in parsed]


def find_roster(inputs: Sequence[str]) -> str | None:
    """A roster.csv at the top of an input folder, used when --roster is not given."""
    for p in inputs:
        cand = Path(p) / "roster.csv"
        if Path(p).is_dir() and cand.is_file():
            return str(cand)
    return None


def _new_chunks(opts: ScanOptions, store: Store, model_id: str, roster: Roster, roster_path: str | None,
                summary: IngestSummary, bar) -> Iterator[pd.DataFrame]:
    """Ingested chunks minus what the store already holds (resume / re-scan), matched by the
    keyed hash of each id, as stored."""
    secret = store.secret()
    clock = _clock()
    it = iter(read_messages(opts.inputs, roster=roster, summary=summary, chunk_size=opts.chunk_size,
                            exclude=[roster_path] if roster_path else [], limits=Limits(max_chars=opts.max_chars)))
    while True:
        with clock("ingest"):
            chunk = next(it, None)
        if chunk is None:
            return
        bar.update(len(chunk))
        if not opts.fresh:
            with clock("store: resume check"):
                hashed = [hashed_id(str(i), secret) for i in chunk["id"]]
                known = store.known_ids(hashed, model_id)
                chunk = chunk[[h not in known for h in hashed]]
        if len(chunk):
            yield chunk


def run_scan(opts: ScanOptions) -> dict:
    """Run a whole scan; returns what happened (paths, counts) for the CLI to print.

    What can fail cheaply is checked first (the group size, the output folder, the store: its
    lock, its file, its key), so nothing is classified for a scan that cannot finish."""
    import duckdb

    from .report import check_report_target
    from .store import StoreError

    check_min_group(opts.min_group, opts.allow_small_groups)
    check_report_target(opts.out)  # a bad --out fails now, not after classification
    Limits(max_chars=opts.max_chars)  # so does a bad text cap
    with Store(opts.db, key_file=opts.key_file, wait=opts.wait) as store:
        try:
            return _scan_into(opts, store, store.secret())
        except duckdb.Error as exc:  # e.g. the disk filled up while writing
            raise StoreError(f"{opts.db}: cannot write to the store ({str(exc).splitlines()[0]})") from None


def _scan_into(opts: ScanOptions, store: Store, secret: bytes) -> dict:
    """The scan proper, into an open store: ingest, classify, upsert, report."""
    from tqdm.auto import tqdm

    from .model import default_model_path, model_identity
    from .report import build_report

    model_path = str(opts.model or default_model_path())
    model_id, label_ids = model_identity(model_path)  # the weights load where classification runs
    roster_path = opts.roster or find_roster(opts.inputs)
    if roster_path and not opts.roster:
        print(f"using the roster found in the input folder: {roster_path}", file=sys.stderr)
    roster = Roster.load(roster_path) if roster_path else Roster()
    summary = IngestSummary(echo=True)
    scan_id = store.begin_scan(opts.inputs, model_id, model_path, opts.period, opts.min_group,
                               opts.allow_small_groups, opts.name_people,
                               {"roster": roster_path, "fresh": opts.fresh, "engine": opts.engine,
                                "workers": opts.workers, "cascade": opts.cascade, **opts.extra})
    cfg = StageConfig(model_path, roster_path, secret.hex(), opts.name_people, scan_id, opts.cascade,
                      timed=TIMINGS is not None)
    bar = tqdm(desc="scanning", unit="msg", disable=not opts.progress, file=sys.stderr)
    chunks = _new_chunks(opts, store, model_id, roster, roster_path, summary, bar)
    if opts.engine == "dask":
        from .engines import run_dask

        new = run_dask(chunks, cfg, store, label_ids, opts.scheduler, opts.workers)
    elif opts.engine == "pool" or opts.workers > 1:
        from .engines import run_pool

        new = run_pool(chunks, cfg, store, label_ids, max(1, opts.workers))
    else:
        new = 0
        for c in chunks:
            rows = classify_chunk(c, cfg)
            with _clock()("store: upsert"):
                new += store.upsert(rows, label_ids)
    bar.close()
    store.finish_scan(scan_id, summary.as_dict(), new)
    with _clock()("report"):
        paths = build_report(store, opts.out, period=opts.period, min_group=opts.min_group,
                             override=opts.allow_small_groups)
    return {"scan_id": scan_id, "new_messages": new, "ingest": summary.as_dict(), "report": paths}


class CallableModule(types.ModuleType):
    """`friction.scan` names both this module and the library function `friction.api.scan`. Once
    this module is imported, Python sets the package attribute `friction.scan` to the module, so
    the module is made callable: `friction.scan(paths, **options)` runs the library function
    whichever of the two the attribute holds."""

    def __call__(self, paths, **options) -> dict:
        from .api import scan

        return scan(paths, **options)


sys.modules[__name__].__class__ = CallableModule
