"""Outlook .msg: a real MS-OXMSG file (built by scripts/make_msg_fixture.py) read end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from friction.ingest import COLUMNS, IngestSummary, read_all

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "ingest" / "mail" / "renewal.msg"


def test_msg_fixture_reads_every_field():
    summary = IngestSummary(echo=False)
    df = read_all([str(FIXTURE)], summary=summary)
    assert list(df.columns) == COLUMNS
    assert len(df) == 1
    row = df.iloc[0]
    assert row.id == "<msg-1@northwind.example>"
    assert row.source == "msg"
    assert row.channel == "email"
    assert row.author == "dana.kim@northwind.example"
    assert row.timestamp == pd.Timestamp("2024-03-11 09:30:00", tz="UTC")
    assert row.recipients == "leo.brandt@northwind.example"
    assert row.subject == "Renewal handoff"
    assert row.thread_id == "<msg-1@northwind.example>"
    assert row.reply_to == ""
    # Only the new text: the "-----Original Message-----" block is stripped.
    assert row.text == ("Leo,\n\nThe renewal tickets sat for four days because nobody knew "
                        "whether CS or product owned them.\n\nDana")
    assert "Original Message" not in row.text and "Any update" not in row.text
    assert summary.read == summary.kept == 1 and summary.total_skipped == 0
    assert summary.by_source["msg"] == 1


def test_truncated_msg_is_skipped_and_named(tmp_path):
    bad = tmp_path / "truncated.msg"
    bad.write_bytes(FIXTURE.read_bytes()[:1000])
    summary = IngestSummary(echo=False)
    df = read_all([str(bad)], summary=summary)
    assert df.empty
    assert summary.skipped["corrupt Outlook .msg"] == 1
    assert summary.kept == 0
    assert any("truncated.msg" in w and "corrupt Outlook .msg" in w for w in summary.warnings)


def test_fixture_matches_generator(tmp_path):
    """The committed fixture is exactly what the generator writes (no drift, deterministic)."""
    out = tmp_path / "renewal.msg"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_msg_fixture.py"), str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == FIXTURE.read_bytes()
