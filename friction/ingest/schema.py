"""The message table: one row per message, whatever the export format."""

from __future__ import annotations

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


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a message table from row dicts; missing keys become empty strings."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in COLUMNS:
        if col == "timestamp":
            df[col] = pd.to_datetime(df[col], utc=True, errors="coerce").astype("datetime64[us, UTC]")
        elif col == "origin_pos":
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
        else:
            df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    return df
