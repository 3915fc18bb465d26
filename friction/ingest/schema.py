"""The message table: one row per message, whatever the export format."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

#: Output columns, in order. Documented in the README ("Message table").
COLUMNS: list[str] = [
    "id",            # stable across runs (Message-ID, slack:<channel>:<ts>, ...)
    "source",        # format it was read from: mbox, eml, maildir, msg, pst, slack, teams, vtt, srt, notes, table
    "channel",       # email | chat | meeting
    "timestamp",     # UTC
    "author",        # address, handle or display name as exported
    "author_team",   # from the roster, else "unknown"
    "recipients",    # "; "-joined addresses / names ("" when none)
    "thread_id",
    "reply_to",      # id of the message this one answers, when the export says so
    "subject",
    "text",          # the new text only: quotes, signatures and disclaimers removed
    "origin_file",   # the file (or zip!entry) the row came from
    "origin_pos",    # position inside that file (message / line / item number)
]

CHANNELS = ("email", "chat", "meeting")


def empty_frame() -> pd.DataFrame:
    """A zero-row message table with the right columns and dtypes."""
    return to_frame([])


def parse_timestamps(values: pd.Series) -> tuple[pd.Series, list[int]]:
    """Each value to a UTC timestamp on its own terms, and the positions of non-empty values that
    could not be parsed (left empty). A whole-column parse infers one format from the first
    value, so `...:50.123Z` next to `...:00Z` turned the second kind into NaT; here ISO 8601
    values of any precision parse in one vectorised pass and the rest one by one."""
    values = values.astype(object)
    missing = values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip())
    text = values.map(lambda v: v if v is None or isinstance(v, (str, datetime)) or pd.isna(v) else str(v))
    out = pd.to_datetime(text.where(~missing, None), utc=True, errors="coerce", format="ISO8601")
    bad = []
    for i in [i for i, (nat, miss) in enumerate(zip(out.isna(), missing)) if nat and not miss]:
        ts = _free_form(str(text.iat[i]))
        if ts is None:
            bad.append(i)
        else:
            out.iat[i] = ts
    return out.astype("datetime64[us, UTC]"), bad


_HAS_DATE = re.compile(r"\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}")


def _free_form(value: str) -> pd.Timestamp | None:
    """A free-form date ("5 March 2024 10:00", "05/14/2001 4:39 PM") in UTC, else None. Values
    without a year are refused: the parser would fill in today's date ("10:00") or year 1 ("May")."""
    if not _HAS_DATE.search(value):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None
    if pd.isna(ts) or not 1970 <= ts.year <= 2100:
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def to_frame(rows: list[dict], bad_timestamps: list[int] | None = None) -> pd.DataFrame:
    """Build a message table from row dicts; missing keys become empty strings. Positions of rows
    whose timestamp could not be parsed (left empty) are appended to `bad_timestamps`."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in COLUMNS:
        if col == "timestamp":
            df[col], bad = parse_timestamps(df[col])
            if bad_timestamps is not None:
                bad_timestamps.extend(bad)
        elif col == "origin_pos":
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
        else:
            df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    return df
