"""Trend statistics on small hand-made stores, checked against values computed by hand. (The
same figures on a larger random store, against an independent pandas computation, are in
test_trends_sql.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from friction.store import Store
from friction.trends import (Messages, benjamini_hochberg, changes, communication_health, distinctive_phrases,
                             label_rates, pair_rates, protect_complements, wilson)

COLUMNS = ["id", "timestamp", "author", "author_team", "target_team", "flag_blame", "tokens", "reply_to", "thread_id",
           "is_request"]


def store_of(rows, period: str = "quarter") -> Messages:
    """An in-memory store holding these rows (one label, blame), as the report's aggregates see it."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
    df["labels"] = np.where(df["flag_blame"], "blame", "")
    df["score_blame"] = np.where(df["flag_blame"], 0.9, 0.1)
    store = Store(":memory:")
    scan = store.begin_scan(["test"], "m", "", period, 1, True, False)
    store.upsert(df.assign(model_id="m", scan_id=scan), ["blame"])
    return Messages.of(store, period)


def test_wilson_matches_the_textbook_values():
    lo, hi = wilson(np.array([0, 5, 50]), np.array([10, 10, 100]))
    assert lo[0] == 0 and hi[0] == pytest.approx(0.2775, abs=1e-4)
    assert lo[1] == pytest.approx(0.2366, abs=1e-4) and hi[1] == pytest.approx(0.7634, abs=1e-4)
    assert lo[2] == pytest.approx(0.4038, abs=1e-4) and hi[2] == pytest.approx(0.5962, abs=1e-4)


def test_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    # sorted 0.01,0.03,0.04,0.20 -> 0.04, 0.06, 0.0533, 0.20 -> monotone from the top: 0.04, 0.0533, 0.0533, 0.2
    assert benjamini_hochberg(p) == pytest.approx([0.04, 0.05333, 0.05333, 0.2], abs=1e-4)


def test_periods():
    rows = [(f"m{i}", ts, "p", "Sales", "", False, "", "", "", False)
            for i, ts in enumerate(["2025-02-01", "2025-07-15", None, "2021-01-03 12:00"])]
    for period, want in (("quarter", ["2025-Q1", "2025-Q3", "", "2021-Q1"]),
                         ("month", ["2025-02", "2025-07", "", "2021-01"]),
                         ("week", ["2025-W05", "2025-W29", "", "2020-W53"])):   # ISO weeks: 3 Jan 2021 is in 2020's
        got = store_of(rows, period).query("SELECT id, period FROM m ORDER BY id")
        assert got["period"].tolist() == want
    with pytest.raises(ValueError):
        store_of(rows, "fortnight")


def test_a_label_id_that_is_not_an_identifier_is_refused():
    store = Store(":memory:")
    with pytest.raises(ValueError, match="not a label id"):
        Messages.of(store, labels=['blame" OR 1=1 --'])


def test_rates_changes_and_suppression():
    rows = []
    for i in range(200):  # Q1: 4 of 200 flagged by 4 authors; Q2: 40 of 200 flagged by 12 authors
        rows.append((f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "Marketing", i < 4, "", "", f"t{i}", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "Marketing", i < 40, "", "", f"u{i}", False))
    msgs = store_of(rows)
    r = label_rates(msgs, k=5).set_index("period")
    assert r.loc["2025-Q1", "count"] == 4 and r.loc["2025-Q2", "count"] == 40 and r.loc["2025-Q2", "n"] == 200
    assert r.loc["2025-Q2", "rate_per_1000"] == pytest.approx(200.0)
    assert r.loc["2025-Q1", "suppressed"] and not r.loc["2025-Q2", "suppressed"]  # 4 authors < k=5
    r3 = label_rates(msgs, k=3)
    ch = changes(r3, ["label"])
    assert len(ch) == 1 and ch.iloc[0]["called"] == "rise" and ch.iloc[0]["q_value"] < 1e-6
    p = pair_rates(msgs, k=3)
    assert list(p["count"]) == [4, 40] and list(p["n"]) == [200, 200]


def test_a_small_difference_is_not_called_a_rise():
    rows = []
    for i in range(100):
        rows.append((f"a{i}", "2025-02-01", f"p{i % 20}", "Sales", "", i < 5, "", "", "", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 20}", "Sales", "", i < 7, "", "", "", False))
    ch = changes(label_rates(store_of(rows), k=1), ["label"])
    assert ch.iloc[0]["called"] == "no significant change"


def test_distinctive_phrases_find_the_planted_word():
    rows = []
    for i in range(60):
        flagged = i < 20
        words = "webinar pricing nobody told" if flagged else "lunch deck room booked thanks"
        rows.append((f"m{i}", "2025-02-01", f"p{i % 10}", "Sales", "", flagged, words, "", "", False))
    ph = distinctive_phrases(store_of(rows), top=3)
    assert set(ph["term"]) & {"webinar", "pricing", "nobody", "told", "nobody told", "webinar pricing"}
    assert not set(ph["term"]) & {"lunch", "deck", "room"}


def test_communication_health_latency_and_unanswered():
    rows = [
        ("q1", "2025-02-03 09:00", "p1", "Sales", "Marketing", False, "", "", "t1", True),
        ("r1", "2025-02-03 11:00", "p2", "Marketing", "Sales", False, "", "q1", "t1", False),   # across, 2 h
        ("q2", "2025-02-04 09:00", "p1", "Sales", "", False, "", "", "t2", False),
        ("r2", "2025-02-04 09:30", "p3", "Sales", "", False, "", "q2", "t2", False),            # within, 0.5 h
        ("q3", "2025-02-05 09:00", "p1", "Sales", "Marketing", False, "", "", "t3", True),      # never answered
    ]
    h = communication_health(store_of(rows)).iloc[0]
    assert h["median_reply_hours_across"] == 2.0 and h["median_reply_hours_within"] == 0.5
    assert h["requests"] == 2 and h["unanswered_requests"] == 1
    assert h["cross_team_share"] == pytest.approx(3 / 5)


def test_a_request_is_answered_by_the_next_message_of_someone_else_in_its_thread():
    rows = [
        ("a1", "2025-02-03 09:00", "p1", "Sales", "", False, "", "", "t1", True),    # p1 asks twice ...
        ("a2", "2025-02-03 10:00", "p1", "Sales", "", False, "", "", "t1", True),
        ("a3", "2025-02-05 09:00", "p2", "Ops", "", False, "", "", "t1", False),     # ... p2 answers both in 2 days
        ("b1", "2025-02-03 09:00", "p1", "Sales", "", False, "", "", "t2", True),    # answered only after 9 days
        ("b2", "2025-02-12 09:00", "p2", "Ops", "", False, "", "", "t2", False),
        ("c1", "2025-02-03 09:00", "p3", "Sales", "", False, "", "", "t3", True),    # the same author again only
        ("c2", "2025-02-03 10:00", "p3", "Sales", "", False, "", "", "t3", False),
    ]
    h = communication_health(store_of(rows)).iloc[0]
    assert h["requests"] == 4 and h["unanswered_requests"] == 2                   # b1 and c1
    assert communication_health(store_of(rows), unanswered_after_days=10).iloc[0]["unanswered_requests"] == 1


def test_the_median_of_an_even_number_of_replies_is_the_mean_of_the_middle_two():
    rows = [("q", "2025-02-03 09:00", "p0", "Sales", "", False, "", "", "t", False)]
    for i, hours in enumerate((1, 2, 4, 8)):
        rows.append((f"r{i}", f"2025-02-03 {9 + hours:02d}:00", f"p{i + 1}", "Ops", "", False, "", "q", "t", False))
    assert communication_health(store_of(rows)).iloc[0]["median_reply_hours_across"] == 3.0


# ---------------------------------------------------------------- issue 12: the minimum group size


def test_a_hidden_cell_looks_the_same_whatever_its_count():
    rows = [(f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "", False, "", "", "", False) for i in range(50)]
    rows += [(f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "", i < 2, "", "", "", False) for i in range(50)]
    r = label_rates(store_of(rows), k=5).set_index("period")
    assert r.loc["2025-Q1", "count"] == 0 and r.loc["2025-Q2", "count"] == 2
    assert r.loc["2025-Q1", "suppressed"] and r.loc["2025-Q2", "suppressed"]  # zero is hidden like two


def test_a_rise_towards_a_team_of_two_is_hidden_and_not_tested():
    rows = []
    for i in range(200):  # twelve Sales people write about Legal, a team of two
        rows.append((f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "Legal", i < 12, "", "", "", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "Legal", i < 80, "", "", "", False))
    rows += [(f"l{i}", "2025-02-01", f"legal{i}", "Legal", "", False, "", "", "", False) for i in range(2)]
    p = pair_rates(store_of(rows), k=5)
    assert (p["authors"] >= 5).all() and p["suppressed"].all()
    assert changes(p, ["label", "author_team", "target_team"]).empty


def test_complementary_suppression_hides_a_second_cell_and_the_remainder():
    rows = []
    for i in range(60):  # Q1 blame: 6 Sales authors -> Marketing, 6 Ops authors -> Marketing, 1 Legal author -> Marketing
        rows.append((f"s{i}", "2025-02-01", f"s{i % 6}", "Sales", "Marketing", i < 12, "", "", "", False))
        rows.append((f"o{i}", "2025-02-01", f"o{i % 6}", "Ops", "Marketing", i < 30, "", "", "", False))
        rows.append((f"m{i}", "2025-02-01", f"m{i % 10}", "Marketing", "", False, "", "", "", False))
    rows.append(("x1", "2025-02-01", "legal1", "Legal", "Marketing", True, "", "", "", False))
    msgs = store_of(rows)
    rates, pairs = label_rates(msgs, 5), pair_rates(msgs, 5)
    assert not rates["suppressed"].any()
    assert pairs.set_index("author_team")["suppressed"].to_dict() == {"Legal": True, "Ops": False, "Sales": False}
    rates2, pairs2 = protect_complements(msgs, rates, pairs, 5)
    hidden = pairs2.set_index("author_team")["suppressed"].to_dict()
    # total 43 minus Ops 30 minus Sales 12 would give Legal's single author away: Sales (fewest authors) goes too
    assert hidden == {"Legal": True, "Ops": False, "Sales": True} and not rates2["suppressed"].any()
    # one author writing without a target team is just as derivable from the total
    rows.append(("y1", "2025-02-01", "lone", "Sales", "", True, "", "", "", False))
    msgs = store_of([r for r in rows if r[0] != "x1"])
    rates, pairs = label_rates(msgs, 5), pair_rates(msgs, 5)
    _, pairs3 = protect_complements(msgs, rates, pairs, 5)
    assert pairs3.set_index("author_team")["suppressed"].to_dict() == {"Ops": False, "Sales": True}


def test_complementary_suppression_breaks_ties_by_the_earlier_cell():
    rows = []
    for i in range(6):  # Ops and Sales: 6 authors, 6 messages each; Sales writes first
        rows.append((f"s{i}", f"2025-02-01 0{i}:00", f"s{i}", "Sales", "Marketing", True, "", "", "", False))
        rows.append((f"o{i}", f"2025-02-02 0{i}:00", f"o{i}", "Ops", "Marketing", True, "", "", "", False))
    rows += [(f"m{i}", "2025-02-01", f"m{i}", "Marketing", "", False, "", "", "", False) for i in range(6)]
    rows.append(("x1", "2025-02-03", "legal1", "Legal", "Marketing", True, "", "", "", False))
    msgs = store_of(rows)
    rates, pairs = protect_complements(msgs, label_rates(msgs, 5), pair_rates(msgs, 5), 5)
    assert pairs.set_index("author_team")["suppressed"].to_dict() == {"Legal": True, "Ops": False, "Sales": True}
    assert not rates["suppressed"].any()
    # with k = 7 every pair is below k on its own: nothing is left to hide but the total
    rates, pairs = protect_complements(msgs, label_rates(msgs, 7), pair_rates(msgs, 7), 7)
    assert pairs["suppressed"].all() and not rates["suppressed"].any()                 # 13 authors in all


def test_health_figures_from_fewer_than_k_people_are_left_empty():
    rows = [("q1", "2025-02-03 09:00", "p1", "Sales", "Marketing", False, "", "", "t1", True),
            ("r1", "2025-02-03 11:00", "p2", "Marketing", "Sales", False, "", "q1", "t1", False)]
    rows += [(f"x{i}", "2025-02-04 09:00", f"w{i}", "Sales", "", False, "", "", f"u{i}", False) for i in range(6)]
    h = communication_health(store_of(rows), k=5).iloc[0]
    assert h["messages"] == 8 and h["cross_team_share"] == pytest.approx(2 / 8)   # eight writers: shown
    assert pd.isna(h["median_reply_hours_across"])                               # one replier: hidden
    assert pd.isna(h["requests"]) and pd.isna(h["unanswered_requests"])           # one requester: hidden
