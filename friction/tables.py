"""One reader and one writer for every table format we accept: Parquet, CSV, JSONL, '-'."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import BinaryIO, Iterator

import pandas as pd

from .safe_write import SafeWriteError, check_target, publish, temp_beside

TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv",
                  ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def table_format(path: str) -> str:
    """Format named by a path's extension; '-' means JSONL on stdout."""
    if path == "-":
        return "jsonl"
    fmt = TABLE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown table format (use .parquet, .csv, .jsonl or -)")
    return fmt


def iter_table(fh: BinaryIO, fmt: str, chunk_size: int = 20_000,
               encoding: str = "utf-8-sig") -> Iterator[pd.DataFrame]:
    """Stream a table in chunks of rows, all columns as strings except Parquet's own types;
    CSV/TSV/JSONL are read in `encoding` (UTF-8 by default, a BOM dropped)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(fh)
        for batch in pf.iter_batches(batch_size=chunk_size):
            yield batch.to_pandas()
    elif fmt in ("csv", "tsv"):
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
        yield from pd.read_csv(text, sep="\t" if fmt == "tsv" else ",", dtype=str,
                               keep_default_na=False, chunksize=chunk_size)
    elif fmt == "jsonl":
        text = io.TextIOWrapper(fh, encoding=encoding, errors="replace")
        yield from pd.read_json(text, lines=True, dtype=False, chunksize=chunk_size)
    else:
        raise ValueError(f"unknown table format {fmt!r}")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell a spreadsheet would run as a formula (starting with =, +, -,
    @, tab or carriage return: the OWASP CSV-injection rule) starts with a quote instead, for
    every CSV we write. Numbers keep their sign: only text cells change."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    out.columns = [("'" + c if isinstance(c, str) and c.startswith(_FORMULA_START) else c) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, fh, **kwargs) -> None:
    """df.to_csv with formula cells neutralised: the one way we write CSV."""
    neutralise_formulas(df).to_csv(fh, index=False, **kwargs)


def read_table(path: str) -> pd.DataFrame:
    """A whole table into memory (for small tables: rosters, labelled data, results)."""
    fmt = table_format(path)
    from .ingest.sources import open_regular

    if path == "-":
        return pd.concat(list(iter_table(sys.stdin.buffer, fmt)), ignore_index=True)
    with open_regular(path) as fh:   # a FIFO named as --roster must not block the run
        chunks = list(iter_table(fh, fmt))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


class TableWriter:
    """Append DataFrame chunks to one output file; the format comes from its extension.

    Rows go to a temporary file beside the output and are moved into place on close, so an
    interrupted run never leaves a half-written table under the final name; a symlink at the
    output is refused rather than written through. CSV cells that a spreadsheet would run as
    formulas are neutralised.
    """

    def __init__(self, path: str):
        self.path = path
        self.fmt = table_format(path)
        self.rows = 0
        if path != "-":
            check_target(Path(path))
        self._tmp = None if path == "-" else temp_beside(Path(path))
        self._fh = None
        self._pq = None
        self._schema = None

    def __enter__(self) -> "TableWriter":
        return self

    def write(self, df: pd.DataFrame) -> None:
        """Append a chunk; a failed write (a full disk) becomes one SafeWriteError line."""
        try:
            self._write(df)
        except SafeWriteError:
            raise
        except OSError as exc:
            raise SafeWriteError(f"{self.path}: cannot write ({exc.strerror or exc})") from None

    def _write(self, df: pd.DataFrame) -> None:
        if self.path == "-":
            if len(df):
                sys.stdout.write(_jsonl(df))
                sys.stdout.flush()
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False, schema=self._schema)
            if self._pq is None:
                self._schema = table.schema
                self._pq = pq.ParquetWriter(self._tmp, self._schema)
            self._pq.write_table(table)
        else:
            if self._fh is None:
                self._fh = open(self._tmp, "w", encoding="utf-8", newline="")
                first = True
            else:
                first = False
            if self.fmt in ("csv", "tsv"):
                write_csv(df, self._fh, header=first, sep="\t" if self.fmt == "tsv" else ",",
                          date_format="%Y-%m-%dT%H:%M:%S%z")
            elif len(df):
                self._fh.write(_jsonl(df))
        self.rows += len(df)

    def close(self) -> None:
        """Finish the file and move it into place; on failure the temporary file is removed."""
        try:
            if self._pq is not None:
                self._pq.close()
            if self._fh is not None:
                self._fh.close()
            if self._tmp is not None:
                if self._pq is None and self._fh is None:
                    self._write_empty()
                publish(self._tmp, Path(self.path))
        except OSError as exc:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
            if isinstance(exc, SafeWriteError):
                raise
            raise SafeWriteError(f"{self.path}: cannot write ({exc.strerror or exc})") from None

    def _write_empty(self) -> None:
        from .ingest.schema import empty_frame

        empty = empty_frame()
        if self.fmt == "parquet":
            empty.to_parquet(self._tmp, index=False)
        elif self.fmt in ("csv", "tsv"):
            write_csv(empty, self._tmp, sep="\t" if self.fmt == "tsv" else ",")
        else:
            self._tmp.write_text("")

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None and self._tmp is not None:
            for h in (self._pq, self._fh):
                if h is not None:
                    h.close()
            self._tmp.unlink(missing_ok=True)
            return
        self.close()


def _jsonl(df: pd.DataFrame) -> str:
    out = df.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
    return out if out.endswith("\n") else out + "\n"
