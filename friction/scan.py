"""`friction scan`: ingest -> classify -> store -> report, chunk by chunk.

Each chunk of the message table goes through the classify stage (friction/stage.py: the model
folder's pipeline, then target team, pseudonyms, redaction) on the chosen engine
(friction/engines.py: local | pool | dask), and its rows are upserted into the DuckDB store by
this process. Messages the store already holds for this model are skipped, so re-scanning
overlapping exports never double-counts and an interrupted scan resumes where it stopped.
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd

from .ingest import IngestSummary, Limits, Roster, read_messages
from .privacy import DEFAULT_MIN_GROUP, check_min_group, hashed_id
from .settings import current_settings
from .stage import StageConfig, classify_chunk, prepare, redact_evidence  # noqa: F401  (the stage's API)
from .store import Store
from .timings import Timings, clock


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
    precision: str | None = None   # fp32 | bf16 | auto; None: the model folder's setting
    timings: Timings | None = None  # seconds per stage, counts and peak RSS, when the caller wants them
    extra: dict = field(default_factory=dict)


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
    timings = opts.timings
    it = iter(read_messages(opts.inputs, roster=roster, summary=summary, chunk_size=opts.chunk_size,
                            exclude=[roster_path] if roster_path else [], limits=Limits(max_chars=opts.max_chars)))
    while True:
        with clock(timings, "ingest"):
            chunk = next(it, None)
        if chunk is None:
            return
        bar.update(len(chunk))
        if not opts.fresh:
            with clock(timings, "store: resume check"):
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

    from .engines import make_engine
    from .model import default_model_path, model_identity
    from .model.runtime import choose
    from .report import build_report

    engine = make_engine(opts.engine, opts.workers, opts.scheduler)  # a bad --engine fails before any work
    model_path = str(opts.model or default_model_path())
    model_id, label_ids = model_identity(model_path)  # the weights load where classification runs
    roster_path = opts.roster or find_roster(opts.inputs)
    if roster_path and not opts.roster:
        print(f"using the roster found in the input folder: {roster_path}", file=sys.stderr)
    roster = Roster.load(roster_path) if roster_path else Roster()
    summary = IngestSummary(echo=True)
    inference = json.loads((Path(model_path) / "config.json").read_text(encoding="utf-8")).get("inference", {})
    scan_id = store.begin_scan(opts.inputs, model_id, model_path, opts.period, opts.min_group,
                               opts.allow_small_groups, opts.name_people,
                               {"roster": roster_path, "fresh": opts.fresh, "engine": engine.name,
                                "workers": opts.workers, "cascade": opts.cascade,
                                "runtime": choose(inference, opts.precision), **opts.extra})
    cfg = StageConfig(model_path, roster_path, secret.hex(), opts.name_people, scan_id, opts.cascade,
                      precision=opts.precision)
    bar = tqdm(desc="scanning", unit="msg", disable=not opts.progress, file=sys.stderr)
    chunks = _new_chunks(opts, store, model_id, roster, roster_path, summary, bar)
    timings = opts.timings if opts.timings is not None else Timings()
    new = engine.run(chunks, cfg, lambda rows: store.upsert(rows, label_ids), timings)
    bar.close()
    store.finish_scan(scan_id, summary.as_dict(), new)
    runtimes = sorted(k.split(": ", 1)[1] for k in timings.counts if k.startswith("runtime: "))
    if runtimes:  # what the workers ran on (a remote cluster's CPUs may differ from this one's)
        store.record_runtime(scan_id, runtimes)
    with clock(opts.timings, "report"):
        paths = build_report(store, opts.out, period=opts.period, min_group=opts.min_group,
                             override=opts.allow_small_groups)
    return {"scan_id": scan_id, "new_messages": new, "ingest": summary.as_dict(), "report": paths,
            "runtime": runtimes}


class CallableModule(types.ModuleType):
    """`friction.scan` names both this module and the library function `friction.api.scan`. Once
    this module is imported, Python sets the package attribute `friction.scan` to the module, so
    the module is made callable: `friction.scan(paths, **options)` runs the library function
    whichever of the two the attribute holds."""

    def __call__(self, paths, **options) -> dict:
        from .api import scan

        return scan(paths, **options)


sys.modules[__name__].__class__ = CallableModule
