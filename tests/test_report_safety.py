"""Reports built from hand-made stores (no model): what a hidden cell may not give away, the k a
report used, and output safety: CSV formulas, HTML in summary.md, symlinks, bad output paths,
full disks, corrupt or locked stores. Each test stands for a case of issue 12."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from friction.cli import cli
from friction.report import build_report
from friction.safe_write import SafeWriteError
from friction.store import Store
from friction.tables import TableWriter


def msg(i, when, author, team, target, flagged=False, score=0.1, evidence=""):
    return {"id": f"id{i}", "timestamp": pd.Timestamp(when, tz="UTC"), "channel": "email", "source": "table",
            "author": author, "author_team": team, "target_team": target, "recipient_teams": "", "thread_id": "",
            "reply_to": "", "is_request": False, "labels": "blame" if flagged else "",
            "evidence": json.dumps({"blame": [evidence]}) if flagged and evidence else "", "tokens": "",
            "score_blame": score if flagged else 0.01, "flag_blame": flagged}


def make_store(db, rows) -> None:
    with Store(db) as store:
        scan = store.begin_scan(["x"], "m", "", "quarter", 10, False, False)
        df = pd.DataFrame(rows).assign(model_id="m", scan_id=scan)
        store.upsert(df, ["blame"])
        store.finish_scan(scan, {"read": len(df), "kept": len(df)}, len(df))


def cli_run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def three_teams_and_a_loner():
    """Q1 blame towards Marketing: Ops (6 authors, 18 messages), Sales (6 authors, 6 messages)
    and one Legal author (a team of one) whose message scores highest."""
    rows, i = [], 0
    for team, n in (("Ops", 18), ("Sales", 6), ("Marketing", 12)):
        for j in range(n):
            i += 1
            flagged = team != "Marketing"
            rows.append(msg(i, "2025-02-03", f"{team}{j % 6}", team, "Marketing" if flagged else "", flagged,
                            0.5, f"{team.upper()}-EVIDENCE number {j}"))
    rows.append(msg(999, "2025-02-14", "legal-1", "Legal", "Marketing", True, 0.99, "LEGAL-SECRET evidence"))
    return rows


def test_hidden_cells_give_no_evidence_no_date_and_no_numbers(tmp_path):
    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / "rep", min_group=5)
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "LEGAL-SECRET" not in html and "2025-02-14" not in html     # (a) not shown, nor its date
    assert "OPS-EVIDENCE" in html                                       # a visible cell's evidence is
    assert "SALES-EVIDENCE" not in html                                 # (d) hidden to protect Legal
    pairs = pd.read_csv(tmp_path / "rep" / "tables" / "pairs.csv").set_index("author_team")
    # (b) only visible pairs are listed: a hidden one would say someone there was flagged
    assert list(pairs.index) == ["Ops"] and not pairs["suppressed"].any()
    assert pairs.loc["Ops", "count"] == 18 and pairs.loc["Ops", "n"] == 18 and (pairs["min_group"] == 5).all()
    rates = pd.read_csv(tmp_path / "rep" / "tables" / "rates.csv")
    assert len(rates) == 1 and rates.loc[0, "count"] == 25                # the total is visible


def test_a_report_states_and_records_its_k_and_the_override(tmp_path):
    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    r = cli_run("report", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "k1", "--min-group", 1,
                "--allow-small-groups")
    assert r.exit_code == 0, r.output
    with Store(tmp_path / "f.duckdb") as store:
        rep = store.reports()
    assert rep[["min_group", "min_group_override"]].values.tolist() == [[1, True]]
    for f in ("report.html", "summary.md"):
        text = (tmp_path / "k1" / f).read_text()
        assert "minimum group size 1 (below 5, by --allow-small-groups" in text


def test_every_csv_we_write_neutralises_spreadsheet_formulas(tmp_path):
    rows = three_teams_and_a_loner()
    for r in rows:
        r["author_team"] = {"Ops": '=HYPERLINK("http://evil.example","x")', "Sales": "+Sales"}.get(r["author_team"],
                                                                                                 r["author_team"])
    make_store(tmp_path / "f.duckdb", rows)
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / "rep", min_group=5)
    pairs = pd.read_csv(tmp_path / "rep" / "tables" / "pairs.csv", dtype=str, keep_default_na=False)
    assert list(pairs["author_team"]) == ["'=HYPERLINK(\"http://evil.example\",\"x\")"]
    with TableWriter(str(tmp_path / "out.csv")) as out:
        out.write(pd.DataFrame({"text": ["=1+2", "-2+3", "@SUM(A1)", "\tx", "fine"], "n": [-3, 1, 2, 3, 4]}))
    back = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(back["text"]) == ["'=1+2", "'-2+3", "'@SUM(A1)", "'\tx", "fine"]
    assert list(back["n"]) == ["-3", "1", "2", "3", "4"]                # numbers keep their sign


def test_summary_md_escapes_html(tmp_path):
    rows = []
    for i in range(200):  # a significant rise from "<img ...>" towards Sales, twelve authors
        for q, when, cut in ((1, "2025-02-01", 12), (2, "2025-05-01", 90)):
            rows.append(msg(f"{q}-{i}", when, f"p{i % 12}", "<img src=x onerror=alert(1)>", "Sales", i < cut, 0.9,
                            "<script>alert(2)</script>"))
    rows += [msg(f"s{i}", "2025-02-01", f"s{i}", "Sales", "") for i in range(6)]
    make_store(tmp_path / "f.duckdb", rows)
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / "rep", min_group=5)
    md = (tmp_path / "rep" / "summary.md").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "<img" not in md and "<script" not in md


def test_a_symlink_at_the_report_is_refused_and_its_target_left_alone(tmp_path):
    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    victim = tmp_path / "victim.txt"
    victim.write_text("KEEP")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.html").symlink_to(victim)
    r = cli_run("report", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "rep", "--min-group", 5)
    assert r.exit_code == 1 and r.stderr.strip().count("\n") == 0
    assert "report.html: is a symbolic link" in r.stderr
    assert victim.read_text() == "KEEP" and not (tmp_path / "rep" / "tables" / "rates.csv").exists()
    (tmp_path / "link.csv").symlink_to(victim)
    with pytest.raises(SafeWriteError, match="symbolic link"):
        TableWriter(str(tmp_path / "link.csv"))
    (tmp_path / "link.parquet").symlink_to(victim)
    r = cli_run("export", "--db", tmp_path / "f.duckdb", "-o", tmp_path / "link.parquet")
    assert r.exit_code == 1 and "symbolic link" in r.stderr and victim.read_text() == "KEEP"


def test_bad_output_paths_fail_in_one_line_before_any_work(tmp_path):
    (tmp_path / "in.csv").write_text("id,timestamp,author,text\nm1,2025-01-06T09:00:00Z,a@x.example,hello\n")
    (tmp_path / "afile").write_text("")
    r = cli_run("scan", tmp_path / "in.csv", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "afile")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "is not a folder" in r.stderr
    assert "scanning" not in r.stderr and not (tmp_path / "f.duckdb").exists()   # nothing was classified
    make_store(tmp_path / "g.duckdb", three_teams_and_a_loner())
    (tmp_path / "rep" / "report.html").mkdir(parents=True)
    r = cli_run("report", "--db", tmp_path / "g.duckdb", "--out", tmp_path / "rep", "--min-group", 5)
    assert r.exit_code == 1 and "report.html: exists and is not a regular file" in r.stderr
    assert sorted(os.listdir(tmp_path / "rep")) == ["report.html", "tables"]
    assert os.listdir(tmp_path / "rep" / "tables") == []


def test_a_full_disk_leaves_no_partial_files_and_the_old_report_intact(tmp_path, monkeypatch):
    import friction.report as report

    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / "rep", min_group=5)
    before = {p: p.read_bytes() for p in (tmp_path / "rep").rglob("*") if p.is_file()}
    calls, real = [], report.write_csv

    def full(df, path, **kw):  # the third table hits a full disk
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(df, path, **kw)

    monkeypatch.setattr(report, "write_csv", full)
    with Store(tmp_path / "f.duckdb") as store, pytest.raises(SafeWriteError, match="No space left on device"):
        build_report(store, tmp_path / "rep", min_group=6)
    after = {p: p.read_bytes() for p in (tmp_path / "rep").rglob("*") if p.is_file()}
    assert after == before                                              # no .partial, nothing half-replaced


def test_an_empty_or_corrupt_store_fails_in_one_line(tmp_path):
    (tmp_path / "empty.duckdb").write_bytes(b"")
    (tmp_path / "bad.duckdb").write_bytes(b"not a database" * 500)
    (tmp_path / "in.csv").write_text("id,timestamp,author,text\nm1,2025-01-06T09:00:00Z,a@x.example,hello\n")
    for db in ("empty.duckdb", "bad.duckdb"):
        r = cli_run("report", "--db", tmp_path / db, "--out", tmp_path / "rep")
        assert r.exit_code == 1 and r.stderr.count("\n") == 1
        assert f"{db}: not a DuckDB store (empty or corrupt file)" in r.stderr
        r = cli_run("scan", tmp_path / "in.csv", "--db", tmp_path / db, "--out", tmp_path / "rep")
        assert r.exit_code == 1 and "not a DuckDB store" in r.stderr and "scanning" not in r.stderr


def hold_lock(db, seconds: float) -> subprocess.Popen:
    """Another process with the store open, as a second scan would have it."""
    p = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                          f"print('held', flush=True); time.sleep({seconds})"], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_a_store_in_use_says_so_in_one_line_or_waits(tmp_path):
    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    holder = hold_lock(tmp_path / "f.duckdb", 30)
    try:
        r = cli_run("report", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "rep", "--min-group", 5)
        assert r.exit_code == 1 and r.stderr.count("\n") == 1
        assert "the store is in use by another process" in r.stderr and "--wait" in r.stderr
        (tmp_path / "in.csv").write_text("id,timestamp,author,text\nm1,2025-01-06T09:00:00Z,a@x.example,hi\n")
        r = cli_run("scan", tmp_path / "in.csv", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "rep")
        assert r.exit_code == 1 and "in use" in r.stderr and "scanning" not in r.stderr
    finally:
        holder.kill()
        holder.wait()
    holder = hold_lock(tmp_path / "f.duckdb", 1.5)
    start = time.monotonic()
    r = cli_run("report", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "rep", "--min-group", 5, "--wait")
    holder.wait()
    assert r.exit_code == 0, r.output
    assert "waiting for" in r.stderr and time.monotonic() - start >= 1.0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_fails_in_one_line(tmp_path):
    make_store(tmp_path / "f.duckdb", three_teams_and_a_loner())
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        r = cli_run("report", "--db", tmp_path / "f.duckdb", "--out", tmp_path / "ro", "--min-group", 5)
        assert r.exit_code == 1 and "cannot" in r.stderr and r.stderr.count("\n") == 1
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_a_full_disk_while_writing_a_table_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import friction.tables as tables

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tables, "write_csv", full)
    with pytest.raises(SafeWriteError, match=r"out\.csv: cannot write \(No space left on device\)"):
        with TableWriter(str(tmp_path / "out.csv")) as out:
            out.write(pd.DataFrame({"text": ["a"]}))
    assert os.listdir(tmp_path) == []
