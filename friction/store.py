"""The results store: one DuckDB file with every scan and every message's labels.

Tables
  scans     one row per scan: when, inputs, model, settings, counts, skipped items by reason,
            privacy overrides.
  messages  one row per (message id, model id): timestamp, channel, pseudonymised author,
            author team, target team, thread/reply links, per-label score_<id> and flag_<id>,
            redacted evidence, a redacted token bag for distinctive phrases, the scan that wrote it.
  reports   one row per report built: when, period, the minimum group size it used, any override,
            and the figures it showed (visible cells only), so the next report can compare.
  reviews   one row per reviewed evidence item (message id, the label the model gave, the
            verdict and the reviewed labels), from a review CSV the report page exports.
  meta      the id format; never the key (see keyfile.py: the key lives in its own file).

Message ids, thread ids and reply_to links are keyed hashes (raw ids carry addresses, subjects
and meeting titles). Re-scanning overlapping exports never double-counts: the same raw id and
key give the same hash, and rows are upserted by (id, model_id).
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import duckdb
import pandas as pd

from .errors import UserError
from .keyfile import KeyFileError, key_path, read_key, write_key
from .privacy import hashed_id

#: DuckDB's memory in MB: past it, it spills to disk.
MEMORY_LIMIT_MB = 512
ID_FORMAT = "hmac-sha256-v1"

BASE_COLUMNS = {
    "id": "VARCHAR", "model_id": "VARCHAR", "scan_id": "INTEGER", "timestamp": "TIMESTAMPTZ",
    "channel": "VARCHAR", "source": "VARCHAR", "author": "VARCHAR", "author_team": "VARCHAR",
    "target_team": "VARCHAR", "recipient_teams": "VARCHAR", "thread_id": "VARCHAR", "reply_to": "VARCHAR",
    "is_request": "BOOLEAN", "labels": "VARCHAR", "evidence": "VARCHAR", "tokens": "VARCHAR",
    "stage": "VARCHAR", "context": "VARCHAR",
}


class StoreError(UserError):
    """The store cannot be used as asked; the message is one line naming the file."""


def connect(path: str, wait: bool = False, poll: float = 0.5) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file, turning DuckDB's errors into one clear line: another scan holds
    the store (or, with wait, wait for it), or the file is not a DuckDB store."""
    if path != ":memory:":
        p = Path(path)
        if p.is_dir():
            raise StoreError(f"{path}: is a folder, not a store file")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{p.parent}: cannot create the store's folder ({exc.strerror or exc})") from None
    told = False
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.Error as exc:
            msg = str(exc)
            if "could not set lock" in msg.lower():
                if not wait:
                    raise StoreError(f"{path}: the store is in use by another process (a second scan?); wait for "
                                     "it to finish or pass --wait") from None
                if not told:
                    print(f"waiting for {path}: the store is in use by another process", file=sys.stderr)
                    told = True
                time.sleep(poll)
                continue
            if "not a valid DuckDB database" in msg or "Corrupt" in msg or "corrupt" in msg:
                raise StoreError(f"{path}: not a DuckDB store (empty or corrupt file); move it aside or "
                                 "pass another --db") from None
            raise StoreError(f"{path}: cannot open the store ({msg.splitlines()[0]})") from None


class Store:
    """A thin layer over one DuckDB file (or ':memory:'), with its key in a separate file."""

    def __init__(self, path: str | Path = "friction.duckdb", key_file: str | None = None, wait: bool = False):
        self.path = str(path)
        self.key_file = None if self.path == ":memory:" and not key_file else key_path(self.path, key_file)
        self._secret: bytes | None = None
        self._wait = wait
        self._open()
        try:
            self._create()
        except StoreError:
            self.con.close()
            raise
        except duckdb.Error as exc:
            self.con.close()
            raise StoreError(f"{self.path}: not a friction store ({str(exc).splitlines()[0]})") from None

    def _open(self) -> None:
        self.con = connect(self.path, self._wait)
        # DuckDB's cache may otherwise grow to most of the machine's memory over a long scan;
        # past this it spills to disk.
        self._set_memory(MEMORY_LIMIT_MB)

    def _set_memory(self, mb: int) -> None:
        self._memory_mb = int(mb)
        self.con.execute("SET memory_limit = ?", [f"{self._memory_mb}MB"])

    @contextmanager
    def memory_limit(self, mb: int) -> Iterator[None]:
        """DuckDB's memory capped at `mb` MB for a while, then the limit before: the report's
        queries spill past it (to a temporary folder beside the store), so the memory they take
        does not grow with the number of messages (see `query` for a query that cannot fit).
        What a scan just wrote is checkpointed first: rows not yet in the file cannot be
        evicted, and would leave the queries no room. Inside a limit as tight already (a report
        step within the whole report), it changes nothing."""
        before = self._memory_mb
        if before <= mb:
            yield
            return
        self.con.execute("CHECKPOINT")
        self._set_memory(mb)
        try:
            yield
        finally:
            self._set_memory(before)

    def query(self, sql: str, params: dict | list | None = None,
              tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """One query's result, with small DataFrames registered under `tables` while it runs.
        Under a limit that `memory_limit` lowered, a query DuckDB cannot fit (not every plan
        spills) runs again with twice the room, and again, up to the store's usual limit; the
        lower limit applies again after it. A tight limit keeps memory flat; it never fails a
        report."""
        tables = dict(tables or {})
        for name, df in tables.items():
            self.con.register(name, df)
        floor = self._memory_mb
        try:
            while True:
                try:
                    return self.con.execute(sql, params or []).df()
                except duckdb.OutOfMemoryException:
                    if self._memory_mb >= MEMORY_LIMIT_MB:
                        raise
                    self._set_memory(min(MEMORY_LIMIT_MB, 2 * self._memory_mb))
        finally:
            if self._memory_mb != floor:
                self._set_memory(floor)
            for name in tables:
                self.con.unregister(name)

    def _create(self) -> None:
        self.con.execute("""CREATE TABLE IF NOT EXISTS scans (
            scan_id INTEGER PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
            inputs VARCHAR, model_id VARCHAR, model_path VARCHAR, period VARCHAR,
            min_group INTEGER, min_group_override BOOLEAN, name_people BOOLEAN,
            read INTEGER, kept INTEGER, new_messages INTEGER, skipped INTEGER,
            skipped_by_reason VARCHAR, settings VARCHAR)""")
        cols = ", ".join(f'"{c}" {t}' for c, t in BASE_COLUMNS.items())
        self.con.execute(f"CREATE TABLE IF NOT EXISTS messages ({cols}, PRIMARY KEY (id, model_id))")
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        self.con.execute("""CREATE TABLE IF NOT EXISTS reports (
            made_at TIMESTAMPTZ, period VARCHAR, min_group INTEGER, min_group_override BOOLEAN, out_dir VARCHAR)""")
        # added after the first release: older stores gain them in place
        self.con.execute("ALTER TABLE messages ADD COLUMN IF NOT EXISTS context VARCHAR")
        self.con.execute("ALTER TABLE reports ADD COLUMN IF NOT EXISTS figures VARCHAR")
        self.con.execute("""CREATE TABLE IF NOT EXISTS reviews (
            id VARCHAR, model_id VARCHAR, label VARCHAR, verdict VARCHAR, reviewed_labels VARCHAR,
            reviewed_at TIMESTAMPTZ, source VARCHAR, PRIMARY KEY (id, label))""")
        legacy = self._one("SELECT value FROM meta WHERE key = 'pseudonym_secret'")
        if legacy is not None:
            self._move_key_out(bytes.fromhex(legacy[0]))
        elif self._one("SELECT 1 FROM meta WHERE key = 'id_format'") is None and not self._has_messages():
            self.con.execute("INSERT INTO meta VALUES ('id_format', ?)", [ID_FORMAT])

    def _one(self, sql: str, params: list | None = None):
        """The first row of a query, or None. Fetches everything, so no result is left open
        (DuckDB refuses new work on a connection with an unfinished result)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    # ------------------------------------------------------------------ key
    def secret(self) -> bytes:
        """The key for pseudonyms and hashed ids, read from the key file (created with the store).
        A store that already holds rows and has lost its key is refused: a new key would give
        everyone new pseudonyms and count every message twice."""
        if self._secret is not None:
            return self._secret
        if self.key_file is None:  # an in-memory store: a key for this session only
            self._secret = os.urandom(32)
            return self._secret
        try:
            value = read_key(self.key_file)
            if value is None:
                if self._has_messages():
                    raise StoreError(f"{self.key_file}: the pseudonym key of {self.path} is missing; restore it "
                                     "(or pass --key-file): a new key would re-count every stored message")
                value = write_key(self.key_file)
        except KeyFileError as exc:
            raise StoreError(str(exc)) from None
        self._secret = value
        return value

    def _has_messages(self) -> bool:
        return self._one("SELECT 1 FROM messages LIMIT 1") is not None

    def _move_key_out(self, legacy: bytes) -> None:
        """An older store kept its key in `meta`: write it to the key file, hash the raw ids it
        holds with it (so re-scans still match), and delete it from the store."""
        try:
            current = read_key(self.key_file) if self.key_file is not None else None
            if current is not None and current != legacy:
                raise StoreError(f"{self.key_file}: holds a different key from the one inside {self.path}; "
                                 "move one of them aside")
            if current is None and self.key_file is not None:
                write_key(self.key_file, legacy)
        except KeyFileError as exc:
            raise StoreError(str(exc)) from None
        self._secret = legacy
        if self._one("SELECT 1 FROM meta WHERE key = 'id_format'") is None:
            self._hash_raw_ids(legacy)
        self.con.execute("DELETE FROM meta WHERE key = 'pseudonym_secret'")
        self._rewrite()
        print(f"moved the pseudonym key out of {self.path} into {self.key_file}; keep that file apart from the "
              "store (older copies of the store still hold the key)", file=sys.stderr)

    def _rewrite(self) -> None:
        """Copy the store into a fresh file and put that in its place: a deleted or updated value
        (the old key, raw ids) otherwise lingers in the file's free blocks."""
        if self.path == ":memory:":
            return
        path = Path(self.path)
        tmp = path.with_name(f".{path.name}.rewrite-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        name = self._one("SELECT current_database()")[0].replace('"', '""')
        self.con.execute(f"ATTACH '{str(tmp).replace(chr(39), chr(39) * 2)}' AS friction_fresh")
        try:
            self.con.execute(f'COPY FROM DATABASE "{name}" TO friction_fresh')
        finally:
            self.con.execute("DETACH friction_fresh")
        self.con.close()
        os.replace(tmp, path)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        self._open()

    def _hash_raw_ids(self, secret: bytes) -> None:
        """Replace raw message ids, thread ids and reply_to links by their keyed hashes."""
        raw = [r[0] for r in self.con.execute(
            "SELECT DISTINCT v FROM (SELECT id AS v FROM messages UNION SELECT thread_id FROM messages "
            "UNION SELECT reply_to FROM messages) WHERE v IS NOT NULL AND v <> ''").fetchall()]
        if raw:
            self.con.register("_idmap", pd.DataFrame({"old": raw, "new": [hashed_id(v, secret) for v in raw]}))
            try:
                for col in ("id", "thread_id", "reply_to"):
                    self.con.execute(f'UPDATE messages SET "{col}" = _idmap.new FROM _idmap '
                                     f'WHERE messages."{col}" = _idmap.old')
            finally:
                self.con.unregister("_idmap")
        self.con.execute("INSERT INTO meta VALUES ('id_format', ?)", [ID_FORMAT])

    # ------------------------------------------------------------------ scans
    def begin_scan(self, inputs: Sequence[str], model_id: str, model_path: str, period: str,
                   min_group: int, min_group_override: bool, name_people: bool, settings: dict | None = None) -> int:
        scan_id = self._one("SELECT coalesce(max(scan_id), 0) + 1 FROM scans")[0]
        self.con.execute(
            "INSERT INTO scans (scan_id, started_at, inputs, model_id, model_path, period, min_group, "
            "min_group_override, name_people, settings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [scan_id, datetime.now(timezone.utc), json.dumps(list(inputs)), model_id, model_path, period,
             min_group, min_group_override, name_people, json.dumps(settings or {})])
        return int(scan_id)

    def finish_scan(self, scan_id: int, summary: dict, new_messages: int) -> None:
        self.con.execute(
            "UPDATE scans SET finished_at = ?, read = ?, kept = ?, new_messages = ?, skipped = ?, "
            "skipped_by_reason = ? WHERE scan_id = ?",
            [datetime.now(timezone.utc), summary.get("read", 0), summary.get("kept", 0), new_messages,
             summary.get("skipped", 0), json.dumps(summary.get("skipped_by_reason", {})), scan_id])

    def record_runtime(self, scan_id: int, runtimes: Sequence[str]) -> None:
        """The runtime(s) the transformer ran on, as the workers reported them, in the scan's settings."""
        row = self._one("SELECT settings FROM scans WHERE scan_id = ?", [scan_id])
        settings = json.loads(row[0] or "{}") if row else {}
        settings["runtime"] = runtimes[0] if len(runtimes) == 1 else list(runtimes)
        self.con.execute("UPDATE scans SET settings = ? WHERE scan_id = ?", [json.dumps(settings), scan_id])

    def scans(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM scans ORDER BY scan_id").df()

    def record_report(self, period: str, min_group: int, override: bool, out_dir: str,
                      figures: dict | None = None) -> None:
        """Note a report's minimum group size and any override (a report may use another k than
        the scan that filled the store), and the figures it showed, for the next report."""
        self.con.execute("INSERT INTO reports (made_at, period, min_group, min_group_override, out_dir, figures) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         [datetime.now(timezone.utc), period, min_group, override, str(out_dir),
                          json.dumps(figures) if figures is not None else None])

    def last_report_figures(self, period: str) -> dict | None:
        """The figures of the latest report made with this period, or None."""
        row = self._one("SELECT figures FROM reports WHERE period = ? AND figures IS NOT NULL "
                        "ORDER BY made_at DESC LIMIT 1", [period])
        return json.loads(row[0]) if row else None

    def record_reviews(self, reviews: pd.DataFrame, model_id: str | None, source: str) -> int:
        """Store reviewed evidence items (columns id, label, verdict, reviewed_labels); a message
        reviewed again for the same label keeps the latest verdict."""
        if reviews.empty:
            return 0
        frame = reviews[["id", "label", "verdict", "reviewed_labels"]].assign(
            model_id=model_id or "", reviewed_at=datetime.now(timezone.utc), source=source)
        self.con.register("_reviews", frame)
        try:
            self.con.execute("INSERT OR REPLACE INTO reviews (id, model_id, label, verdict, reviewed_labels, "
                             "reviewed_at, source) SELECT id, model_id, label, verdict, reviewed_labels, "
                             "reviewed_at, source FROM _reviews")
        finally:
            self.con.unregister("_reviews")
        return len(frame)

    def reviews(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM reviews ORDER BY reviewed_at, id").df()

    def text_columns(self, ids: Sequence[str], model_id: str | None = None) -> pd.DataFrame:
        """The wide text columns (evidence, context, token bag) of a few messages (evidence
        candidates), indexed by id: the report never loads them for every message."""
        model_id = model_id or self.latest_model()
        cols = ["evidence", "context", "tokens"]
        if not len(ids) or model_id is None:
            return pd.DataFrame(columns=cols, index=pd.Index([], name="id"))
        self.con.register("_tids", pd.DataFrame({"id": list(ids)}))
        try:
            df = self.con.execute("SELECT m.id, coalesce(m.evidence, '') AS evidence, coalesce(m.context, '') AS context, "
                                  "coalesce(m.tokens, '') AS tokens FROM messages m JOIN _tids USING (id) "
                                  "WHERE m.model_id = ?", [model_id]).df()
        finally:
            self.con.unregister("_tids")
        return df.set_index("id")

    def reports(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM reports ORDER BY made_at").df()

    # ------------------------------------------------------------------ messages
    def known_ids(self, ids: Sequence[str], model_id: str) -> set[str]:
        """Which of these message ids the store already holds for this model (for resuming)."""
        if not len(ids):
            return set()
        frame = pd.DataFrame({"id": list(ids)})
        self.con.register("_ids", frame)
        try:
            rows = self.con.execute("SELECT m.id FROM messages m JOIN _ids USING (id) WHERE m.model_id = ?",
                                    [model_id]).fetchall()
        finally:
            self.con.unregister("_ids")
        return {r[0] for r in rows}

    def upsert(self, df: pd.DataFrame, label_ids: Sequence[str]) -> int:
        """Insert or replace rows by (id, model_id); adds score/flag columns for new labels."""
        if df.empty:
            return 0
        existing = set(self._columns())
        for lid in label_ids:
            for col, typ in ((f"score_{lid}", "REAL"), (f"flag_{lid}", "BOOLEAN")):
                if col not in existing:
                    self.con.execute(f'ALTER TABLE messages ADD COLUMN "{col}" {typ}')
        cols = list(BASE_COLUMNS) + [f"{p}_{lid}" for lid in label_ids for p in ("score", "flag")]
        frame = df.reindex(columns=cols)
        self.con.register("_rows", frame)
        try:
            collist = ", ".join(f'"{c}"' for c in cols)
            self.con.execute(f"INSERT OR REPLACE INTO messages ({collist}) SELECT {collist} FROM _rows")
        finally:
            self.con.unregister("_rows")
        return len(frame)

    def messages(self, model_id: str | None = None, exclude: Sequence[str] = ()) -> pd.DataFrame:
        """Every stored message (for one model: the latest scan's model by default), ordered by
        time; `exclude` leaves out columns a caller does not need. (The report does not read
        this: its figures are queries over the store, see trends.Messages.)"""
        model_id = model_id or self.latest_model()
        cols = [c for c in (self._columns() if model_id else BASE_COLUMNS) if c not in exclude]
        if model_id is None:
            return pd.DataFrame(columns=cols)
        collist = ", ".join(f'"{c}"' for c in cols)
        res = self.con.execute(f"SELECT {collist} FROM messages WHERE model_id = ? ORDER BY timestamp, id",
                               [model_id])
        parts = []  # ~100,000 rows at a time: a third of the peak memory of one .df() on 1M rows
        while len(part := res.fetch_df_chunk(50)):
            parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)

    def latest_model(self) -> str | None:
        row = self._one("SELECT model_id FROM scans ORDER BY scan_id DESC LIMIT 1")
        return row[0] if row else None

    def _columns(self) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'messages' "
            "ORDER BY ordinal_position").fetchall()]

    def label_ids(self) -> list[str]:
        """Label ids that have score columns in the store, in column order (read from the schema,
        not the data)."""
        return [c[len("score_"):] for c in self._columns() if c.startswith("score_")]

    def export(self, path: str, model_id: str | None = None) -> int:
        """Write the messages table to Parquet (the bulk format), through a temporary file in the
        same folder that replaces `path` only when complete (never through a symlink)."""
        from .safe_write import SafeWriteError, check_target, temp_beside

        model_id = model_id or self.latest_model()
        check_target(Path(path))
        tmp = temp_beside(Path(path))
        try:
            if model_id is None:
                self.messages().to_parquet(tmp, index=False)
                n = 0
            else:
                # DuckDB writes the Parquet itself, streaming: no DataFrame of every message in memory.
                self.con.execute("COPY (SELECT * FROM messages WHERE model_id = ? ORDER BY timestamp, id) "
                                 f"TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)", [model_id])
                n = self._one("SELECT count(*) FROM messages WHERE model_id = ?", [model_id])[0]
            os.replace(tmp, path)
        except (OSError, duckdb.Error) as exc:
            tmp.unlink(missing_ok=True)
            raise SafeWriteError(f"{path}: cannot write ({getattr(exc, 'strerror', None) or str(exc).splitlines()[0]})") \
                from None
        return n

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
