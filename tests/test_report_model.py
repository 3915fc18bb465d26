"""The report model (issue 13): one model that every rendering shows, suppression applied once,
evidence with its context ranked by score and typicality, reviews recorded and shown, the
previous report as comparison. Hand-made stores, no model."""

from __future__ import annotations

import json
import re

import pandas as pd
from click.testing import CliRunner

from friction.cli import cli
from friction.report import build_report, compute
from friction.report.model import in_context, typicality
from friction.store import Store
from friction.trends import Messages, distinctive_phrases, prefer_phrases

from report_fixture import K, fixture_rows, make_store


def embedded(html: str) -> dict:
    """The report model as the page holds it."""
    raw = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def report(tmp_path, name="rep", **kw):
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / name, min_group=K, **kw)
    out = tmp_path / name
    return out, (out / "report.html").read_text(), json.loads((out / "report.json").read_text())


def test_html_markdown_csv_and_json_show_the_same_numbers(tmp_path):
    make_store(tmp_path / "f.duckdb")
    out, html, model = report(tmp_path)
    assert embedded(html) == model
    rates = pd.read_csv(out / "tables" / "rates.csv")
    md = (out / "summary.md").read_text()
    for c in model["rates"]:
        csv = rates[(rates["label"] == c["label"]) & (rates["period"] == c["period"])].iloc[0]
        assert bool(csv["suppressed"]) == c["hidden"]
        if c["hidden"]:
            continue
        assert (csv["count"], csv["n"], round(csv["rate_per_1000"], 1)) == (c["count"], c["n"], c["rate"])
        row = f"| {c['period']} | {c['count']} | {c['n']} | {c['rate']:.1f} | {c['ci_low']:.1f}–{c['ci_high']:.1f} |"
        assert row in md                                       # the Markdown table
        assert f"<td class=\"num\">{c['count']}</td><td class=\"num\">{c['n']}</td><td class=\"num\">{c['rate']:.1f}</td>" in html
    pairs = pd.read_csv(out / "tables" / "pairs.csv")
    assert len(pairs) == len(model["pairs"])
    for p in model["pairs"]:
        row = pairs[(pairs["label"] == p["label"]) & (pairs["period"] == p["period"]) & (pairs["author_team"] == p["author_team"])]
        assert (int(row["count"].iloc[0]), int(row["n"].iloc[0])) == (p["count"], p["n"])


def test_no_cell_below_the_minimum_group_size_is_in_the_page_data(tmp_path):
    """Search the page's embedded data: every cell with a number stands on >= k authors, a hidden
    cell carries nothing but its keys, and evidence comes from visible cells only."""
    rows = pd.DataFrame(fixture_rows())
    rows["period"] = rows["timestamp"].dt.year.astype(str) + "-Q" + rows["timestamp"].dt.quarter.astype(str)
    make_store(tmp_path / "f.duckdb")
    _, html, _ = report(tmp_path)
    data = embedded(html)
    assert "LEGAL-SECRET" not in html and "2025-08-14" not in html
    numbers = {"count", "n", "rate", "ci_low", "ci_high"}
    for c in data["rates"]:
        if c["hidden"]:
            assert set(c) == {"label", "period", "hidden"}
        else:
            hit = rows[rows[f"flag_{c['label']}"] & (rows["period"] == c["period"])]
            assert hit["author"].nunique() >= K
    for p in data["pairs"]:                                    # only visible pairs are listed
        assert not p["hidden"]
        hit = rows[rows[f"flag_{p['label']}"] & (rows["period"] == p["period"]) & (rows["author_team"] == p["author_team"])
                   & (rows["target_team"] == p["target_team"])]
        assert hit["author"].nunique() >= K and rows[rows["author_team"] == p["target_team"]]["author"].nunique() >= K
    assert ("blame", "2025-Q3", "Ops") not in {(p["label"], p["period"], p["author_team"]) for p in data["pairs"]}
    for c in data["matrix"]["cells"]:
        assert set(c) == ({"a", "t", "hidden"} if c["hidden"] else {"a", "t", "hidden", "rate"})
    legal = [c for c in data["matrix"]["cells"] if c["a"] == "Legal"]
    assert legal and all(c["hidden"] for c in legal)
    for c in data["channels"]:
        assert not (c["hidden"] and numbers & set(c))
    visible = {(p["label"], p["period"], p["author_team"], p["target_team"]) for p in data["pairs"]}
    assert data["evidence"]
    for e in data["evidence"]:
        assert (e["label"], e["period"], e["author_team"], e["target_team"]) in visible
        assert e["author_team"] != "Legal" and "Q3" not in e["period"] or e["label"] == "culture_clash"


def test_evidence_is_shown_in_context_and_ranked_by_score_and_typicality(tmp_path):
    rows = fixture_rows()
    off = dict(rows[0])  # an off-topic message in a visible cell with the loudest score
    off.update(id="msg-duck", score_blame=0.97, tokens="rubber ducks shelf", flag_blame=True, labels="blame",
               target_team="Marketing", evidence=json.dumps({"blame": ["DUCKS on the shelf."]}),
               context=json.dumps({"blame": [["", ""]]}))
    make_store(tmp_path / "f.duckdb", rows + [off])
    _, _, model = report(tmp_path)
    blame = [e for e in model["evidence"] if e["label"] == "blame" and e["period"] == "2025-Q1"]
    first = blame[0]
    assert first["typicality"] == 1.0 and first["parts"] == [["Before that we met.", False], [first["text"], True],
                                                             ["After that we left.", False]]
    duck = next(e for e in blame if e["id"] == "msg-duck")
    assert duck["score"] == 0.97 and duck["typicality"] == 0.0
    assert blame.index(duck) > 0                              # the loudest score is not on top


def test_in_context_and_typicality():
    assert in_context(["A."], [["B.", "C."]]) == [["B.", False], ["A.", True], ["C.", False]]
    assert in_context(["A.", "C."], [["", "B."], ["B.", "D."]]) == [["A.", True], ["B.", False], ["C.", True],
                                                                    ["D.", False]]
    assert in_context(["A.", "X."], [["", ""], ["", ""]]) == [["A.", True], ["…", False], ["X.", True]]
    assert typicality(["missed deadline again", "ducks", "deadline"], ["missed deadline", "deadline"]) == [1.0, 0.0, 0.5]


def test_distinctive_terms_drop_generic_words_and_put_phrases_first():
    rows = []
    for i in range(40):
        flagged = i < 10
        rows.append({"id": f"m{i}", "timestamp": pd.Timestamp("2025-02-01", tz="UTC"), "author": f"a{i}",
                     "flag_blame": flagged,
                     "tokens": "cool asked missed deadline blamed qa" if flagged else "cool asked lunch plan"})
    store = Store(":memory:")
    scan = store.begin_scan(["test"], "m", "", "quarter", 1, True, False)
    store.upsert(pd.DataFrame(rows).assign(model_id="m", scan_id=scan), ["blame"])
    out = distinctive_phrases(Messages.of(store), min_count=3)
    terms = out["term"].tolist()
    assert "cool" not in terms and "asked" not in terms and "cool asked" not in terms   # generic, and not distinctive
    assert terms[0].count(" ") == 1                                                      # a phrase comes first
    assert "missed" not in terms                                                         # inside a chosen phrase
    assert [t for _, t, _ in prefer_phrases([(5.0, "late", 3), (4.0, "missed deadline", 3)], 2)] == ["missed deadline",
                                                                                                    "late"]


def test_alpha_is_a_parameter_and_custom_label_names_are_used(tmp_path):
    make_store(tmp_path / "f.duckdb")
    model_dir = tmp_path / "custom-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(json.dumps({"labels": [{"id": "culture_clash", "name": "Tone wars"}]}))
    with Store(tmp_path / "f.duckdb") as store:
        store.con.execute("UPDATE scans SET model_path = ?", [str(model_dir)])
    _, _, loose = report(tmp_path, "a", alpha=0.9)
    _, html, strict = report(tmp_path, "b", alpha=1e-12)
    assert loose["changes"] and not strict["changes"] and strict["alpha"] == 1e-12
    names = {lab["id"]: lab["name"] for lab in strict["labels"]}
    assert names == {"blame": "Blame", "culture_clash": "Tone wars"} and "Tone wars" in html


def test_the_previous_report_is_the_comparison_and_a_cell_hidden_now_stays_hidden(tmp_path):
    make_store(tmp_path / "f.duckdb")
    _, _, first = report(tmp_path, "one")
    assert first["previous"] is None
    with Store(tmp_path / "f.duckdb") as store:
        build_report(store, tmp_path / "two", min_group=7)      # a larger k hides all but blame in Q3 (7 authors)
    second = json.loads((tmp_path / "two" / "report.json").read_text())
    assert second["previous"]["k"] == K
    shown_now = {f"{c['label']}|{c['period']}" for c in second["rates"] if not c["hidden"]}
    assert set(second["previous"]["rates"]) == shown_now == {"blame|2025-Q3"}
    blame = next(c for c in first["rates"] if c["label"] == "blame" and c["period"] == "2025-Q3")
    assert second["previous"]["rates"]["blame|2025-Q3"] == blame["rate"]


def test_reviews_are_recorded_and_the_next_report_shows_reviewed_precision(tmp_path):
    make_store(tmp_path / "f.duckdb")
    csv = tmp_path / "reviews.csv"
    csv.write_text("id,text,labels,model_label,verdict\n"
                   "msg-1,OPS-EVIDENCE,blame,blame,right\n"
                   "msg-3,OPS-EVIDENCE,culture_clash,blame,wrong\n"
                   "msg-5,OPS-EVIDENCE,,blame,not_friction\n"
                   "msg-7,x,blame,blame,maybe\n"
                   "msg-nope,x,blame,blame,right\n"
                   "msg-9,x,,blame,right\n")
    r = CliRunner().invoke(cli, ["review", str(csv), "--db", str(tmp_path / "f.duckdb")])
    assert r.exit_code == 0, r.output
    assert f"{csv} row 5: unknown verdict 'maybe'; skipped" in r.stderr
    assert f"{csv} row 6: message not in the store; skipped" in r.stderr
    assert f"{csv} row 7: verdict and labels disagree; skipped" in r.stderr
    assert "recorded 3 reviews" in r.stderr and "skipped 3" in r.stderr
    with Store(tmp_path / "f.duckdb") as store:
        rev = store.reviews().set_index("id")
    assert rev.loc["msg-3", "reviewed_labels"] == "culture_clash" and rev.loc["msg-5", "verdict"] == "not_friction"
    out, html, model = report(tmp_path)
    assert model["reviewed"] == {"blame": {"reviewed": 3, "right": 1}}
    assert "of 3 reviewed blame items, 1 were right (33%)" in html
    assert "of 3 reviewed items, 1 were right" in (out / "summary.md").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\nmsg-1,x\n")
    r = CliRunner().invoke(cli, ["review", str(bad), "--db", str(tmp_path / "f.duckdb")])
    assert r.exit_code == 1 and r.stderr.count("\n") == 1 and "bad.csv: not a review file" in r.stderr


def test_scan_keeps_each_evidence_sentence_with_its_neighbours():
    from friction.stage import evidence_context

    texts = ["Hi Leo, we met on Monday morning. QA broke the build again. Nobody told us anything at all. Thanks, Leo.",
             "Fine.", "Only one."]
    ev = [json.dumps({"blame": ["QA broke the build again."],
                      "communication_breakdown": ["Nobody told us anything at all."]}), "",
          json.dumps({"blame": ["Only one."]})]
    out = [json.loads(c) if c else "" for c in evidence_context(texts, ev)]
    assert out[0] == {"blame": [["Hi Leo, we met on Monday morning.", "Nobody told us anything at all."]],
                      "communication_breakdown": [["QA broke the build again.", ""]]}   # not 'Thanks, Leo.'
    assert out[1] == "" and out[2] == {"blame": [["", ""]]}


def test_evidence_from_a_hidden_channel_does_not_name_it(tmp_path):
    rows = fixture_rows()
    for r in rows:
        if r["id"] in ("msg-1", "msg-2"):  # two Ops authors flagged in a small private channel
            r["channel"] = "leads-private"
    make_store(tmp_path / "f.duckdb", rows)
    _, html, model = report(tmp_path)
    assert {"channel": "leads-private", "hidden": True} in model["channels"]
    assert {e["channel"] for e in model["evidence"] if e["id"] in ("msg-1", "msg-2")} == {""}
    assert all(e["channel"] in ("", "email", "chat") for e in model["evidence"])


def test_the_report_reads_no_row_per_message_and_leaves_the_store_memory_limit_as_it_was(tmp_path, monkeypatch):
    """Issue 11: every figure is a DuckDB query over the store, within a small memory limit;
    the report never loads the messages table into Python."""
    make_store(tmp_path / "f.duckdb")
    _, _, before = report(tmp_path, "a")

    def refuse(*a, **kw):
        raise AssertionError("the report loaded every message")

    limits, query = set(), Messages.query

    def spy(self, *a, **kw):
        limits.add(self.store.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        return query(self, *a, **kw)

    monkeypatch.setattr(Store, "messages", refuse)
    monkeypatch.setattr(Messages, "query", spy)
    with Store(tmp_path / "f.duckdb") as store:
        usual = store.con.execute("SELECT current_setting('memory_limit')").fetchall()
        build_report(store, tmp_path / "b", min_group=K)
        assert store.con.execute("SELECT current_setting('memory_limit')").fetchall() == usual
    assert limits == {"76.2 MiB"}                                  # REPORT_MEMORY_MB, 80 MB
    after = json.loads((tmp_path / "b" / "report.json").read_text())
    before.pop("previous"), after.pop("previous")
    assert after == before


def test_when_fewer_than_k_people_are_flagged_at_all_no_channel_and_no_overall_share_is_shown(tmp_path):
    rows = fixture_rows()
    for r in rows:
        if r["author"] not in ("ops1", "ops2", "sales1"):  # three people carry every label
            r.update(labels="", flag_blame=False, flag_culture_clash=False)
    make_store(tmp_path / "f.duckdb", rows)
    _, html, model = report(tmp_path)
    assert model["flagged_share"] is None
    assert model["channels"] and all(c == {"channel": c["channel"], "hidden": True} for c in model["channels"])
    assert not model["evidence"] and not model["pairs"] and all(c["hidden"] for c in model["rates"])


def test_a_query_that_does_not_fit_the_report_memory_limit_runs_again_with_more(tmp_path):
    import duckdb

    class Tight:
        """A connection on which one query runs out of memory once, as a plan DuckDB cannot
        spill would; it notes every memory limit set."""

        def __init__(self, con):
            self.con, self.limits, self.failed = con, [], False

        def execute(self, sql, params=None):
            if sql.startswith("SET memory_limit"):
                self.limits.append(params[0])
            elif "answered AS" in sql and not self.failed:
                self.failed = True
                raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block")
            return self.con.execute(sql, params or [])

        def __getattr__(self, name):
            return getattr(self.con, name)

    make_store(tmp_path / "f.duckdb")
    with Store(tmp_path / "f.duckdb") as store:
        roomy = compute(store, min_group=K)
        store.con = tight = Tight(store.con)
        again = compute(store, min_group=K)
    assert tight.failed and tight.limits == ["80MB", "160MB", "80MB", "512MB"]
    for name in ("rates", "pairs", "health", "phrases", "label_changes", "pair_changes"):
        pd.testing.assert_frame_equal(again[name], roomy[name])
