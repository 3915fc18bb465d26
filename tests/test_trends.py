"""Trend statistics on small hand-made tables, checked against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from friction.trends import (assign_period, benjamini_hochberg, changes, communication_health,
                             distinctive_phrases, label_rates, pair_rates, wilson)


def frame(rows):
    df = pd.DataFrame(rows, columns=["id", "timestamp", "author", "author_team", "target_team", "flag_blame",
                                     "tokens", "reply_to", "thread_id", "is_request"])
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


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
    ts = pd.Series(pd.to_datetime(["2025-02-01", "2025-07-15", None], utc=True))
    assert list(assign_period(ts, "quarter")) == ["2025-Q1", "2025-Q3", ""]
    assert list(assign_period(ts, "month")) == ["2025-02", "2025-07", ""]
    assert list(assign_period(ts, "week"))[:2] == ["2025-W05", "2025-W29"]


def test_rates_changes_and_suppression():
    rows = []
    for i in range(200):  # Q1: 4 of 200 flagged by 4 authors; Q2: 40 of 200 flagged by 12 authors
        rows.append((f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "Marketing", i < 4, "", "", f"t{i}", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "Marketing", i < 40, "", "", f"u{i}", False))
    df = frame(rows)
    r = label_rates(df, ["blame"], "quarter", k=5).set_index("period")
    assert r.loc["2025-Q1", "count"] == 4 and r.loc["2025-Q2", "count"] == 40 and r.loc["2025-Q2", "n"] == 200
    assert r.loc["2025-Q2", "rate_per_1000"] == pytest.approx(200.0)
    assert r.loc["2025-Q1", "suppressed"] and not r.loc["2025-Q2", "suppressed"]  # 4 authors < k=5
    r3 = label_rates(df, ["blame"], "quarter", k=3)
    ch = changes(r3, ["label"])
    assert len(ch) == 1 and ch.iloc[0]["called"] == "rise" and ch.iloc[0]["q_value"] < 1e-6
    p = pair_rates(df, ["blame"], "quarter", k=3)
    assert list(p["count"]) == [4, 40] and list(p["n"]) == [200, 200]


def test_a_small_difference_is_not_called_a_rise():
    rows = []
    for i in range(100):
        rows.append((f"a{i}", "2025-02-01", f"p{i % 20}", "Sales", "", i < 5, "", "", "", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 20}", "Sales", "", i < 7, "", "", "", False))
    ch = changes(label_rates(frame(rows), ["blame"], "quarter", k=1), ["label"])
    assert ch.iloc[0]["called"] == "no significant change"


def test_distinctive_phrases_find_the_planted_word():
    rows = []
    for i in range(60):
        flagged = i < 20
        words = "webinar pricing nobody told" if flagged else "lunch deck room booked thanks"
        rows.append((f"m{i}", "2025-02-01", f"p{i % 10}", "Sales", "", flagged, words, "", "", False))
    ph = distinctive_phrases(frame(rows), ["blame"], "quarter", top=3)
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
    h = communication_health(frame(rows), "quarter").iloc[0]
    assert h["median_reply_hours_across"] == 2.0 and h["median_reply_hours_within"] == 0.5
    assert h["requests"] == 2 and h["unanswered_requests"] == 1
    assert h["cross_team_share"] == pytest.approx(3 / 5)


# ---------------------------------------------------------------- issue 12: the minimum group size


def test_a_hidden_cell_looks_the_same_whatever_its_count():
    rows = [(f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "", False, "", "", "", False) for i in range(50)]
    rows += [(f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "", i < 2, "", "", "", False) for i in range(50)]
    r = label_rates(frame(rows), ["blame"], "quarter", k=5).set_index("period")
    assert r.loc["2025-Q1", "count"] == 0 and r.loc["2025-Q2", "count"] == 2
    assert r.loc["2025-Q1", "suppressed"] and r.loc["2025-Q2", "suppressed"]  # zero is hidden like two


def test_a_rise_towards_a_team_of_two_is_hidden_and_not_tested():
    rows = []
    for i in range(200):  # twelve Sales people write about Legal, a team of two
        rows.append((f"a{i}", "2025-02-01", f"p{i % 12}", "Sales", "Legal", i < 12, "", "", "", False))
        rows.append((f"b{i}", "2025-05-01", f"p{i % 12}", "Sales", "Legal", i < 80, "", "", "", False))
    rows += [(f"l{i}", "2025-02-01", f"legal{i}", "Legal", "", False, "", "", "", False) for i in range(2)]
    p = pair_rates(frame(rows), ["blame"], "quarter", k=5)
    assert (p["authors"] >= 5).all() and p["suppressed"].all()
    assert changes(p, ["label", "author_team", "target_team"]).empty


def test_complementary_suppression_hides_a_second_cell_and_the_remainder():
    from friction.trends import protect_complements

    rows = []
    for i in range(60):  # Q1 blame: 6 Sales authors -> Marketing, 6 Ops authors -> Marketing, 1 Legal author -> Marketing
        rows.append((f"s{i}", "2025-02-01", f"s{i % 6}", "Sales", "Marketing", i < 12, "", "", "", False))
        rows.append((f"o{i}", "2025-02-01", f"o{i % 6}", "Ops", "Marketing", i < 30, "", "", "", False))
        rows.append((f"m{i}", "2025-02-01", f"m{i % 10}", "Marketing", "", False, "", "", "", False))
    rows.append(("x1", "2025-02-01", "legal1", "Legal", "Marketing", True, "", "", "", False))
    df = frame(rows)
    rates, pairs = label_rates(df, ["blame"], "quarter", 5), pair_rates(df, ["blame"], "quarter", 5)
    assert not rates["suppressed"].any()
    assert pairs.set_index("author_team")["suppressed"].to_dict() == {"Legal": True, "Ops": False, "Sales": False}
    rates2, pairs2 = protect_complements(df, rates, pairs, ["blame"], "quarter", 5)
    hidden = pairs2.set_index("author_team")["suppressed"].to_dict()
    # total 43 minus Ops 30 minus Sales 12 would give Legal's single author away: Sales (fewest authors) goes too
    assert hidden == {"Legal": True, "Ops": False, "Sales": True} and not rates2["suppressed"].any()
    # one author writing without a target team is just as derivable from the total
    rows.append(("y1", "2025-02-01", "lone", "Sales", "", True, "", "", "", False))
    df = frame([r for r in rows if r[0] != "x1"])
    rates, pairs = label_rates(df, ["blame"], "quarter", 5), pair_rates(df, ["blame"], "quarter", 5)
    _, pairs3 = protect_complements(df, rates, pairs, ["blame"], "quarter", 5)
    assert pairs3.set_index("author_team")["suppressed"].to_dict() == {"Ops": False, "Sales": True}


def test_health_figures_from_fewer_than_k_people_are_left_empty():
    rows = [("q1", "2025-02-03 09:00", "p1", "Sales", "Marketing", False, "", "", "t1", True),
            ("r1", "2025-02-03 11:00", "p2", "Marketing", "Sales", False, "", "q1", "t1", False)]
    rows += [(f"x{i}", "2025-02-04 09:00", f"w{i}", "Sales", "", False, "", "", f"u{i}", False) for i in range(6)]
    h = communication_health(frame(rows), "quarter", k=5).iloc[0]
    assert h["messages"] == 8 and h["cross_team_share"] == pytest.approx(2 / 8)   # eight writers: shown
    assert pd.isna(h["median_reply_hours_across"])                               # one replier: hidden
    assert pd.isna(h["requests"]) and pd.isna(h["unanswered_requests"])           # one requester: hidden
