"""`friction scan` end to end on a small fixture with the shipped model: the report's numbers
equal an independent pandas computation, HTML is escaped and offline, re-scans do not
double-count, small groups are hidden, and odd inputs still give a valid report."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from friction.cli import cli
from friction.keyfile import read_key
from friction.labels import DEFAULT_LABEL_IDS
from friction.privacy import hashed_id

FIX = "tests/fixtures/scan"


def run(*args):
    r = CliRunner().invoke(cli, list(args))
    return r


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    d = tmp_path_factory.mktemp("scan")
    r = run("scan", f"{FIX}/messages.csv", "--roster", f"{FIX}/roster.csv", "--db", str(d / "f.duckdb"),
            "--out", str(d / "rep"), "--min-group", "2", "--allow-small-groups")
    assert r.exit_code == 0, r.output
    return d


def test_report_figures_equal_an_independent_pandas_computation(scanned):
    assert run("export", "--db", str(scanned / "f.duckdb"), "-o", str(scanned / "all.parquet")).exit_code == 0
    msgs = pd.read_parquet(scanned / "all.parquet")
    assert len(msgs) == 30
    msgs["quarter"] = msgs["timestamp"].dt.tz_convert("UTC").dt.to_period("Q").astype(str).str.replace("Q", "-Q")
    rates = pd.read_csv(scanned / "rep" / "tables" / "rates.csv")
    checked = 0
    for _, r in rates.iterrows():
        sub = msgs[msgs["quarter"] == r["period"]]
        flagged = sub[sub[f"flag_{r['label']}"]]
        if not r["suppressed"]:
            assert r["n"] == len(sub)
        else:
            assert pd.isna(r["n"])                                 # hidden cells carry no numbers
        if flagged["author"].nunique() >= 2:
            assert r["count"] == len(flagged)
            assert r["rate_per_1000"] == pytest.approx(1000 * len(flagged) / len(sub))
            checked += 1
        else:
            assert pd.isna(r["count"]) or r["count"] == 0
    assert checked >= 3
    assert set(rates["label"]) == set(DEFAULT_LABEL_IDS)


def test_the_model_finds_the_obvious_friction(scanned):
    msgs = pd.read_parquet(scanned / "all.parquet").set_index("id")
    key = read_key(scanned / "f.duckdb.key")
    m = {f"m{i:02d}": hashed_id(f"m{i:02d}", key) for i in range(1, 31)}  # ids are keyed hashes
    assert msgs.loc[m["m05"], "flag_communication_breakdown"]
    assert not msgs.loc[m["m02"], "labels"] and not msgs.loc[m["m09"], "labels"] and not msgs.loc[m["m26"], "labels"]
    assert msgs.loc[m["m01"], "target_team"] == "Marketing"       # named in the text ("marketing")
    assert msgs.loc[m["m10"], "target_team"] == "Marketing"       # from the recipient's team
    assert msgs["author"].str.startswith("person-").all()         # pseudonyms, not addresses


def test_budget_rivalry_without_the_word_budget_is_found(scanned):
    msgs = pd.read_parquet(scanned / "all.parquet").set_index("id")
    key = read_key(scanned / "f.duckdb.key")
    assert msgs.loc[hashed_id("m10", key), "flag_budget_rivalry"]


def test_html_is_escaped_self_contained_and_names_nobody(scanned):
    html = (scanned / "rep" / "report.html").read_text()
    # the page's own two scripts (its data and its code, issue 13), and no other
    assert re.findall(r"<script[^>]*>", html, re.I) == ['<script type="application/json" id="report-data">', "<script>"]
    data = html.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data                # no message text can end the data block
    assert "Support \\u003cb\\u003eOps" in data and "<b>Ops</b>" not in html   # the page writes it as text
    assert html.count("alert(") == html.count("&lt;script&gt;alert(") + html.count("\\u003cscript\\u003ealert(")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    # the SVG namespace is a name, never fetched (the browser tests see no request at all)
    assert not re.search(r"https?://", html.replace('"http://www.w3.org/2000/svg"', ""))
    assert "@acme.example" not in html and "Ana Ruiz" not in html
    md = (scanned / "rep" / "summary.md").read_text()
    assert md.startswith("# Friction report") and "2025-Q1" in md


def test_rescanning_the_same_input_changes_nothing(scanned, tmp_path):
    db = tmp_path / "f.duckdb"
    shutil.copy(scanned / "f.duckdb", db)
    shutil.copy(scanned / "f.duckdb.key", tmp_path / "f.duckdb.key")
    r = run("scan", f"{FIX}/messages.csv", "--roster", f"{FIX}/roster.csv", "--db", str(db),
            "--out", str(tmp_path / "rep"), "--min-group", "2", "--allow-small-groups", "--json")
    assert r.exit_code == 0, r.output
    assert '"new_messages": 0' in r.stdout
    before = pd.read_csv(scanned / "rep" / "tables" / "rates.csv")
    after = pd.read_csv(tmp_path / "rep" / "tables" / "rates.csv")
    pd.testing.assert_frame_equal(before, after)
    r = run("report", "--db", str(db), "--out", str(tmp_path / "rebuilt"), "--min-group", "2", "--allow-small-groups")
    assert r.exit_code == 0
    pd.testing.assert_frame_equal(before, pd.read_csv(tmp_path / "rebuilt" / "tables" / "rates.csv"))


def test_small_groups_are_hidden(scanned, tmp_path):
    r = run("report", "--db", str(scanned / "f.duckdb"), "--out", str(tmp_path / "k10"))
    assert r.exit_code == 0
    pairs = pd.read_csv(tmp_path / "k10" / "tables" / "pairs.csv")
    assert pairs.empty                                             # three people per team < 10: none listed
    rates = pd.read_csv(tmp_path / "k10" / "tables" / "rates.csv")
    assert rates["suppressed"].all() and rates[["count", "n", "rate_per_1000"]].isna().all().all()
    html = (tmp_path / "k10" / "report.html").read_text()
    assert "hidden" in html


def test_min_group_below_five_needs_the_override(tmp_path):
    r = run("scan", f"{FIX}/messages.csv", "--db", str(tmp_path / "f.duckdb"), "--out", str(tmp_path / "r"),
            "--min-group", "3")
    assert r.exit_code == 1 and "--allow-small-groups" in r.stderr


def test_empty_and_rosterless_scans_still_give_a_report(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_text("")
    r = run("scan", str(tmp_path / "in"), "--db", str(tmp_path / "e.duckdb"), "--out", str(tmp_path / "e"))
    assert r.exit_code == 0, r.output
    assert "No messages were read" in (tmp_path / "e" / "report.html").read_text()
    r = run("scan", f"{FIX}/messages.csv", "--db", str(tmp_path / "n.duckdb"), "--out", str(tmp_path / "n"))
    assert r.exit_code == 0, r.output
    html = (tmp_path / "n" / "report.html").read_text()
    assert "No roster was given" in html and "Friction report" in html


def test_the_export_carries_hashed_ids_and_no_roster_name_in_any_word_list(scanned):
    msgs = pd.read_parquet(scanned / "all.parquet")
    assert msgs["id"].str.fullmatch(r"msg-[0-9a-f]{24}").all()          # not the raw m01 .. m30
    assert not msgs["thread_id"].fillna("").str.contains("subject:").any()
    roster = pd.read_csv(f"{FIX}/roster.csv")
    names = {w.lower() for n in roster["name"] for w in n.split()} | {e.split("@")[0] for e in roster["email"]}
    words = {w for bag in msgs["tokens"].fillna("") for w in bag.split()}
    assert names and not names & words
