"""The results store: one DuckDB file with every scan and every message's labels.

Tables
  scans     one row per scan: when, inputs, model, settings, counts, skipped items by reason,
            privacy overrides.
  messages  one row per (message id, model id): timestamp, channel, pseudonymised author,
            author team, target team, thread/reply links, per-label score_<id> and flag_<id>,
            redacted evidence, a redacted token bag for distinctive phrases, the scan that wrote it.
  meta      the store's secret for pseudonyms (so a person keeps one pseudonym across scans).

Re-scanning overlapping exports never double-counts: rows are upserted by (id, model_id).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import duckdb
import pandas as pd

MEMORY_LIMIT = "512MB"

BASE_COLUMNS = {
    "id": "VARCHAR", "model_id": "VARCHAR", "scan_id": "INTEGER", "timestamp": "TIMESTAMPTZ",
    "channel": "VARCHAR", "source": "VARCHAR", "author": "VARCHAR", "author_team": "VARCHAR",
    "target_team": "VARCHAR", "recipient_teams": "VARCHAR", "thread_id": "VARCHAR", "reply_to": "VARCHAR",
    "is_request": "BOOLEAN", "labels": "VARCHAR", "evidence": "VARCHAR", "tokens": "VARCHAR",
    "stage": "VARCHAR",
}


class Store:
    """A thin layer over one DuckDB file (or ':memory:')."""

    def __init__(self, path: str | Path = "friction.duckdb"):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        # DuckDB's cache may otherwise grow to most of the machine's memory over a long scan;
        # past this it spills to disk.
        self.con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        self.con.execute("""CREATE TABLE IF NOT EXISTS scans (
            scan_id INTEGER PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
            inputs VARCHAR, model_id VARCHAR, model_path VARCHAR, period VARCHAR,
            min_group INTEGER, min_group_override BOOLEAN, name_people BOOLEAN,
            read INTEGER, kept INTEGER, new_messages INTEGER, skipped INTEGER,
            skipped_by_reason VARCHAR, settings VARCHAR)""")
        cols = ", ".join(f'"{c}" {t}' for c, t in BASE_COLUMNS.items())
        self.con.execute(f"CREATE TABLE IF NOT EXISTS messages ({cols}, PRIMARY KEY (id, model_id))")
        self.con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)")

    def _one(self, sql: str, params: list | None = None):
        """The first row of a query, or None. Fetches everything, so no result is left open
        (DuckDB refuses new work on a connection with an unfinished result)."""
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    # ------------------------------------------------------------------ meta
    def secret(self) -> bytes:
        """The per-store key for pseudonyms, created on first use."""
        row = self._one("SELECT value FROM meta WHERE key = 'pseudonym_secret'")
        if row is None:
            value = secrets.token_hex(32)
            self.con.execute("INSERT INTO meta VALUES ('pseudonym_secret', ?)", [value])
            return bytes.fromhex(value)
        return bytes.fromhex(row[0])

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

    def scans(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM scans ORDER BY scan_id").df()

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
        time; `exclude` leaves out wide columns a caller streams instead (see `token_batches`)."""
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

    def token_batches(self, model_id: str | None = None, batch: int = 100_000) -> Iterator[list[str]]:
        """The token bags in `messages()` order, a batch at a time, so a report over millions of
        messages never holds them all."""
        model_id = model_id or self.latest_model()
        if model_id is None:
            return
        cur = self.con.cursor()
        try:
            res = cur.execute("SELECT coalesce(tokens, '') FROM messages WHERE model_id = ? ORDER BY timestamp, id",
                              [model_id])
            while rows := res.fetchmany(batch):
                yield [r[0] for r in rows]
        finally:
            cur.close()

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
        """Write the messages table to Parquet (the bulk format)."""
        model_id = model_id or self.latest_model()
        if model_id is None:
            self.messages().to_parquet(path, index=False)
            return 0
        # DuckDB writes the Parquet itself, streaming: no DataFrame of every message in memory.
        self.con.execute("COPY (SELECT * FROM messages WHERE model_id = ? ORDER BY timestamp, id) "
                         f"TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)", [model_id])
        return self._one("SELECT count(*) FROM messages WHERE model_id = ?", [model_id])[0]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
