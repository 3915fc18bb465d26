"""The report's aggregates are DuckDB queries over the store (trends.Messages); here each one is
checked against an independent plain-pandas computation on the same messages, read back with
Store.messages(): a random store with five quarters, a team of three below k, authors without
a team, messages without a time, a target team or a channel, missing flags, threads, replies
and requests. Suppression included: cells under k authors (zero included), pairs aimed at the
small team, complementary suppression, hidden channels, and evidence from visible cells only."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from friction.report.model import channel_cells, compute, evidence_candidates
from friction.store import Store
from friction.trends import (GENERIC, Messages, communication_health, distinctive_phrases, label_rates, pair_matrix,
                             pair_rates, prefer_phrases, protect_complements, wilson)

LABELS = ("blame", "culture_clash")
K = 5
#: Team sizes: Legal (three people) is below K.
TEAMS = {"Sales": 12, "Ops": 10, "Marketing": 8, "Legal": 3}
WORDS = ("deadline missed again budget launch campaign rude tone roadmap ticket sprint review pricing "
         "webinar escalation blame handoff ownership").split()


def random_messages(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """n messages in the store's shape, with every kind of gap the store can hold."""
    rng = np.random.default_rng(seed)
    people = [(f"{t.lower()}{i}", t) for t, size in TEAMS.items() for i in range(size)]
    people += [("nobody1", "unknown"), ("nobody2", "unknown"), ("ghost", None), (None, "Ops")]
    who = rng.integers(0, len(people), n)
    who[:20] = np.arange(20) % 3  # a first quarter of 20 messages by three people: its cells are hidden
    start = pd.Timestamp("2024-09-01", tz="UTC").value
    # whole hours, so that times tie and the order of time then id decides
    hours = np.sort(np.concatenate([np.arange(20), rng.integers(24 * 61, 24 * 480, n - 20)]))
    ts = pd.Series(pd.to_datetime(start + hours * 3_600_000_000_000, utc=True))
    ts[rng.random(n) < 0.02] = pd.NaT
    targets = np.array(["", "", "", "Sales", "Ops", "Marketing", "Legal", "unknown", None], dtype=object)
    target = targets[rng.integers(0, len(targets), n)]
    team = np.array([people[j][1] for j in who], dtype=object)
    target[(team == "Sales") & (rng.random(n) < 0.4)] = "Legal"  # often enough that k Sales people blame Legal
    target[(team == "Ops") & (rng.random(n) < 0.5)] = "Marketing"
    target[(team == "Sales") & (rng.random(n) < 0.3)] = "Ops"
    ids = [f"m{i:05d}" for i in range(n)]
    thread = [f"t{i // 5}" if rng.random() < 0.9 else "" for i in range(n)]
    reply = ["" if i % 5 == 0 or rng.random() < 0.3 else ids[i - 1 - int(rng.integers(0, min(i, 3)))] for i in range(n)]
    reply = [r if rng.random() > 0.02 else "m-missing" for r in reply]
    channel = np.array(["email", "chat", "meeting", None], dtype=object)[rng.integers(0, 4, n)]
    small = rng.random(n) < 0.03  # a small channel, written by two people
    who[small] = rng.integers(0, 2, small.sum())
    channel[small] = "leads"
    df = pd.DataFrame({
        "id": ids, "timestamp": ts, "channel": channel, "source": "test",
        "author": [people[j][0] for j in who], "author_team": [people[j][1] for j in who], "target_team": target,
        "recipient_teams": "", "thread_id": thread, "reply_to": reply,
        "is_request": np.where(rng.random(n) < 0.05, None, rng.random(n) < 0.25).astype(object), "stage": "test"})
    # culture clash only in two pairs, and now and then from Legal: nothing outside the pairs
    # hides Legal's one author, so complementary suppression must hide a second pair
    pair = [(a, t) for a, t in zip(team, target)]
    clash = np.array([p in {("Ops", "Marketing"), ("Sales", "Ops")} for p in pair]) & (rng.random(n) < 0.3)
    clash |= np.array([p == ("Legal", "Marketing") for p in pair]) & (rng.random(n) < 0.2)
    flags = {"blame": rng.random(n) < 0.15, "culture_clash": clash}
    for lid in LABELS:
        score = np.where(flags[lid], 0.5 + 0.5 * rng.random(n), 0.4 * rng.random(n)).round(2)
        df[f"score_{lid}"] = score
        df[f"flag_{lid}"] = flags[lid].astype(object)
        df.loc[rng.random(n) < 0.02, f"flag_{lid}"] = None
    hit = [[lid for lid in LABELS if df.at[i, f"flag_{lid}"] is True] for i in range(n)]
    df["labels"] = [";".join(h) for h in hit]
    df["evidence"] = [json.dumps({lid: [f"evidence {i}"] for lid in h}) if h else "" for i, h in enumerate(hit)]
    df["context"] = ""
    bags = [" ".join(rng.choice(WORDS, int(rng.integers(0, 9)))) for _ in range(n)]
    df["tokens"] = [b + (" missed deadline again" if "blame" in h else "")
                    + (" rude tone" if "culture_clash" in h else "") for b, h in zip(bags, hit)]
    return df


@pytest.fixture(scope="module")
def store():
    s = Store(":memory:")
    scan = s.begin_scan(["test"], "m", "", "quarter", K, False, False)
    s.upsert(random_messages().assign(model_id="m", scan_id=scan), list(LABELS))
    yield s
    s.close()


# ---------------------------------------------------------------- the pandas computation


def periods(ts: pd.Series, period: str) -> pd.Series:
    ts = pd.to_datetime(ts, utc=True)
    if period == "quarter":
        out = ts.dt.year.astype("Int64").astype(str) + "-Q" + ts.dt.quarter.astype("Int64").astype(str)
    elif period == "month":
        out = ts.dt.strftime("%Y-%m")
    else:
        iso = ts.dt.isocalendar()
        out = iso["year"].astype("Int64").astype(str) + "-W" + iso["week"].astype("Int64").astype(str).str.zfill(2)
    return out.where(ts.notna(), "").fillna("")


def stored(store: Store, period: str = "quarter") -> pd.DataFrame:
    """The messages as stored (time then id order), each with its period and plain flags."""
    df = store.messages()
    df["period"] = periods(df["timestamp"], period)
    for lid in LABELS:
        df[f"f_{lid}"] = df[f"flag_{lid}"].fillna(False).astype(bool)
    df["target"] = df["target_team"].fillna("")
    df["any_flag"] = df["labels"].fillna("") != ""
    return df


def with_rates(df: pd.DataFrame) -> pd.DataFrame:
    lo, hi = wilson(df["count"].to_numpy(), df["n"].to_numpy())
    df["rate_per_1000"] = np.where(df["n"] > 0, 1000 * df["count"] / df["n"].clip(lower=1), np.nan)
    df["ci_low"], df["ci_high"] = 1000 * lo, 1000 * hi
    return df


def expected_rates(df: pd.DataFrame, k: int) -> pd.DataFrame:
    rows = []
    for per, g in df[df["period"] != ""].groupby("period", sort=True):
        for lid in LABELS:
            hit = g[g[f"f_{lid}"]]
            rows.append({"period": per, "label": lid, "count": len(hit), "n": len(g),
                         "authors": hit["author"].nunique()})
    out = with_rates(pd.DataFrame(rows))
    out["suppressed"] = out["authors"] < k
    return out


def team_people(df: pd.DataFrame) -> pd.Series:
    return df.groupby(df["author_team"].fillna("unknown"))["author"].nunique()


def expected_pairs(df: pd.DataFrame, k: int) -> pd.DataFrame:
    teamed = df[df["author_team"].notna()]
    written = teamed.groupby(["period", "author_team"]).size()
    all_periods = sorted(p for p in teamed["period"].unique() if p)
    m = teamed[(teamed["period"] != "") & (teamed["target"] != "")]
    rows = []
    for lid in LABELS:
        hit = m[m[f"f_{lid}"]]
        for a, t in sorted(set(zip(hit["author_team"], hit["target"]))):
            for per in all_periods:
                g = hit[(hit["author_team"] == a) & (hit["target"] == t) & (hit["period"] == per)]
                rows.append({"period": per, "label": lid, "author_team": a, "target_team": t, "count": len(g),
                             "n": int(written.get((per, a), 0)), "authors": g["author"].nunique()})
    out = pd.DataFrame(rows).sort_values(["label", "author_team", "target_team", "period"]).reset_index(drop=True)
    out = with_rates(out)
    out["suppressed"] = (out["authors"] < k) | (out["target_team"].map(team_people(df)).fillna(0) < k)
    return out


def hide_complements(cell: pd.Series, author: pd.Series, k: int, hidden: set) -> tuple[set, bool]:
    """The rule, step by step: hide cells under k authors, then, while the hidden cells together
    come from fewer than k authors, the visible cell with the fewest authors, then messages, then
    the earliest first message."""
    g = pd.DataFrame({"cell": cell.to_numpy(), "author": author.to_numpy()})
    stats = {c: (grp["author"].nunique(), len(grp), grp.index.min()) for c, grp in g.groupby("cell", sort=False)}
    hidden = set(hidden) | {c for c, (people, _, _) in stats.items() if people < k}
    order = sorted((c for c in stats if c not in hidden), key=lambda c: stats[c])
    while g["cell"].isin(hidden).any() and g.loc[g["cell"].isin(hidden), "author"].nunique() < k:
        if not order:
            return hidden, True
        hidden.add(order.pop(0))
    return hidden, False


def expected_protected(df: pd.DataFrame, rates: pd.DataFrame, pairs: pd.DataFrame, k: int):
    rates, pairs = rates.copy(), pairs.copy()
    cell = pd.Series([(a, t) if t else ("", "") for a, t in zip(df["author_team"].fillna("unknown"), df["target"])],
                     index=df.index)
    pair_cell = pd.Series(list(zip(pairs["author_team"], pairs["target_team"])), index=pairs.index)
    for lid in LABELS:
        flagged = df[df[f"f_{lid}"] & (df["period"] != "")]
        for per, g in flagged.groupby("period"):
            at_rate = (rates["label"] == lid) & (rates["period"] == per)
            at_pair = (pairs["label"] == lid) & (pairs["period"] == per)
            if rates.loc[at_rate, "suppressed"].all():
                pairs.loc[at_pair, "suppressed"] = True
                continue
            hidden, total = hide_complements(cell[g.index], g["author"], k,
                                             {("", "")} | set(pair_cell[at_pair & pairs["suppressed"]]))
            pairs.loc[at_pair & pair_cell.isin(hidden), "suppressed"] = True
            rates.loc[at_rate, "suppressed"] |= total
    return rates, pairs


def expected_matrix(df: pd.DataFrame, pairs: pd.DataFrame, k: int):
    known = df[(df["target"] != "") & (df["author_team"].fillna("unknown") != "unknown")]
    teams = sorted((set(known["author_team"]) | set(known["target"])) - {"unknown", ""})
    mat = pd.DataFrame(np.nan, index=teams, columns=teams)
    hid = pd.DataFrame(True, index=teams, columns=teams)
    for t in teams:
        hid.loc[t, t] = False
    shown = set(zip(*(pairs.loc[~pairs["suppressed"], c] for c in ("label", "period", "author_team", "target_team"))))
    covered = pd.Series(False, index=known.index)
    for lid in LABELS:
        covered |= known[f"f_{lid}"] & pd.Series([(lid, p, a, t) in shown for p, a, t in
                                                   zip(known["period"], known["author_team"], known["target"])],
                                                  index=known.index)
    written, people = df.groupby("author_team").size(), team_people(df)
    for (a, t), g in known[known["any_flag"]].groupby(["author_team", "target"]):
        if a in teams and t in teams and a != t:
            mat.loc[a, t] = 1000 * len(g) / max(1, written.get(a, 0))
            rest = g[~covered[g.index]]
            hid.loc[a, t] = bool(g["author"].nunique() < k or people.get(t, 0) < k
                                 or (len(rest) and rest["author"].nunique() < k))
    return mat.where(~hid), hid


def expected_health(df: pd.DataFrame, days: float, k: int) -> pd.DataFrame:
    m = df[df["period"] != ""].copy()
    team = m["author_team"]
    m["cross"] = team.fillna("unknown").ne("unknown") & m["target"].ne("") & m["target"].ne(team)
    parent = m.set_index("id")[["timestamp", "author_team"]].add_suffix("_p")
    rep = m[m["reply_to"].fillna("").isin(parent.index)].join(parent, on="reply_to")
    rep["hours"] = (rep["timestamp"] - rep["timestamp_p"]).dt.total_seconds() / 3600
    rep = rep[rep["hours"] >= 0]
    rep["across"] = [not (isinstance(a, str) and a == b) for a, b in zip(rep["author_team"], rep["author_team_p"])]
    # in a thread's order (time, then id), a run of one author's messages is answered by the next run
    t = m[m["thread_id"].fillna("") != ""].sort_values(["thread_id", "timestamp"], kind="stable")
    new_run = (t["thread_id"] != t["thread_id"].shift()) | (t["author"] != t["author"].shift())
    run = new_run.cumsum()
    first = t[new_run].set_index(run[new_run])
    answer = pd.Series(np.where(first["thread_id"].shift(-1) == first["thread_id"], first["timestamp"].shift(-1),
                                pd.NaT), index=first.index)
    answered_at = pd.to_datetime(run.map(answer), utc=True)
    followed = set(t.loc[((answered_at - t["timestamp"]) <= pd.Timedelta(days=days)).to_numpy(), "id"])
    req = m[m["is_request"].fillna(False).astype(bool)]
    replied = set(m["reply_to"].fillna(""))
    req = req.assign(open=~req["id"].isin(replied) & ~req["id"].isin(followed))
    rows = []
    for per, g in m.groupby("period", sort=True):
        r, q = rep[rep["period"] == per], req[req["period"] == per]
        across, within = r[r["across"]], r[~r["across"]]
        row = {"period": per, "messages": len(g), "cross_team_share": round(float(g["cross"].mean()), 4),
               "median_reply_hours_across": round(float(across["hours"].median()), 2) if len(across) else np.nan,
               "median_reply_hours_within": round(float(within["hours"].median()), 2) if len(within) else np.nan,
               "requests": len(q), "unanswered_requests": int(q["open"].sum()),
               "unanswered_share": q["open"].sum() / len(q) if len(q) else np.nan}
        if k > 1:
            hide = {"messages": g["author"].nunique() < k, "median_reply_hours_across": across["author"].nunique() < k,
                    "median_reply_hours_within": within["author"].nunique() < k, "requests": q["author"].nunique() < k}
            for col, also in (("messages", ["cross_team_share"]), ("median_reply_hours_across", []),
                              ("median_reply_hours_within", []),
                              ("requests", ["unanswered_requests", "unanswered_share"])):
                if hide[col]:
                    for c in [col, *also]:
                        row[c] = np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.astype({c: float for c in ("messages", "requests", "unanswered_requests")}) if k > 1 else out


def expected_phrases(df: pd.DataFrame, top: int, k: int, prior: float = 500.0, min_count: int = 3,
                     min_lift: float = 2.0) -> pd.DataFrame:
    terms = [w + [f"{a} {b}" for a, b in zip(w, w[1:])] for w in (str(t or "").split() for t in df["tokens"])]
    total = Counter(t for ts in terms for t in ts)
    n_total = sum(total.values())
    rows = []
    for lid in LABELS:
        for per in sorted(set(df.loc[df[f"f_{lid}"], "period"]) - {""}):
            mask = (df[f"f_{lid}"] & (df["period"] == per)).to_numpy()
            if df.loc[mask, "author"].nunique() < k:
                continue
            grp = Counter(t for i in np.flatnonzero(mask) for t in terms[i])
            n_i = sum(grp.values())
            n_j = n_total - n_i
            scored = []
            for t, y_i in grp.items():
                y_j, a = total[t] - y_i, prior * total[t] / n_total
                delta = math.log((y_i + a) / (n_i + prior - y_i - a)) - math.log((y_j + a) / (n_j + prior - y_j - a))
                z = delta / math.sqrt(1 / (y_i + a) + 1 / (y_j + a))
                if y_i >= min_count and (y_i / n_i) / (total[t] / n_total) >= min_lift and \
                        not all(w in GENERIC for w in t.split()):
                    scored.append((z, t, y_i))
            for z, t, y in prefer_phrases(sorted(scored, reverse=True), top):
                rows.append({"period": per, "label": lid, "term": t, "z": round(z, 2), "count": y})
    return pd.DataFrame(rows, columns=["period", "label", "term", "z", "count"]).sort_values(
        ["label", "period", "z"], ascending=[True, True, False]).reset_index(drop=True)


# ---------------------------------------------------------------- SQL == pandas


@pytest.mark.parametrize("period", ["quarter", "month", "week"])
def test_label_rates_equal_pandas(store, period):
    msgs = Messages.of(store, period)
    want = expected_rates(stored(store, period), K)
    pd.testing.assert_frame_equal(label_rates(msgs, K), want, check_dtype=False)
    assert want["suppressed"].any() and not want["suppressed"].all()


def test_pair_rates_and_complementary_suppression_equal_pandas(store):
    df, msgs = stored(store), Messages.of(store)
    want_pairs = expected_pairs(df, K)
    got_pairs = pair_rates(msgs, K)
    pd.testing.assert_frame_equal(got_pairs, want_pairs, check_dtype=False)
    legal = want_pairs["target_team"] == "Legal"
    assert legal.any() and want_pairs.loc[legal, "suppressed"].all()         # a team of three: every pair hidden
    assert (want_pairs.loc[legal, "authors"] >= K).any()                      # ... even one with k authors
    assert (want_pairs["count"] == 0).any()                                   # a drop to zero is a cell too
    rates = label_rates(msgs, K)
    want_rates, want_pairs2 = expected_protected(df, rates, want_pairs, K)
    got_rates, got_pairs2 = protect_complements(msgs, rates, got_pairs, K)
    pd.testing.assert_frame_equal(got_pairs2, want_pairs2, check_dtype=False)
    pd.testing.assert_frame_equal(got_rates, want_rates, check_dtype=False)
    assert (want_pairs2["suppressed"] & ~want_pairs["suppressed"]).any()      # the rule had work to do


def test_pair_matrix_equals_pandas(store):
    df, msgs = stored(store), Messages.of(store)
    _, pairs = protect_complements(msgs, label_rates(msgs, K), pair_rates(msgs, K), K)
    mat, hid = pair_matrix(msgs, pairs, K)
    want_mat, want_hid = expected_matrix(df, pairs, K)
    pd.testing.assert_frame_equal(hid, want_hid)
    pd.testing.assert_frame_equal(mat, want_mat)
    assert hid["Legal"].drop("Legal").all() and not hid.to_numpy().all()


@pytest.mark.parametrize("k,days", [(1, 7.0), (K, 7.0), (K, 0.1)])
def test_communication_health_equals_pandas(store, k, days):
    df, msgs = stored(store), Messages.of(store)
    got = communication_health(msgs, unanswered_after_days=days, k=k)
    pd.testing.assert_frame_equal(got, expected_health(df, days, k), check_dtype=k > 1)
    # the requests taken a slice at a time (as for millions of messages) give the same figures
    pd.testing.assert_frame_equal(communication_health(msgs, unanswered_after_days=days, k=k, requests_per_pass=40), got)


def test_distinctive_phrases_equal_pandas(store):
    df, msgs = stored(store), Messages.of(store)
    for top, k in ((8, K), (3, 1), (30, 40)):
        want = expected_phrases(df, top, k)
        pd.testing.assert_frame_equal(distinctive_phrases(msgs, top=top, k=k), want, check_dtype=False)
    assert {"missed deadline", "rude tone"} <= set(want["term"]) if len(want) else True


def test_hidden_channels_equal_pandas(store):
    df, msgs = stored(store), Messages.of(store)
    flagged = df[df["any_flag"]]
    for k in (K, 40, 10_000):
        want = hide_complements(flagged["channel"].fillna("None"), flagged["author"], k, set())
        assert channel_cells(msgs, k) == want
    assert "leads" in channel_cells(msgs, K)[0]                                # two people
    assert channel_cells(msgs, 10_000)[1]                                      # nothing left to hide but the total


def test_evidence_candidates_are_the_top_flagged_messages_of_visible_cells(store):
    df = stored(store)
    data = compute(store, min_group=K)
    for lid in LABELS:
        pairs = data["pairs"][(data["pairs"]["label"] == lid) & ~data["pairs"]["suppressed"]]
        visible_pairs = set(zip(pairs["period"], pairs["author_team"], pairs["target_team"]))
        rates = data["rates"]
        visible_periods = set(rates.loc[(rates["label"] == lid) & ~rates["suppressed"], "period"])
        untargeted = df[df[f"f_{lid}"] & (df["target"] == "")]
        open_periods = {p for p, g in untargeted.groupby("period") if g["author"].nunique() >= K} & visible_periods
        ok = df[f"f_{lid}"] & df[f"score_{lid}"].notna() & pd.Series(
            [(p, a, t) in visible_pairs if t else p in open_periods
             for p, a, t in zip(df["period"], df["author_team"], df["target"])], index=df.index)
        want = df[ok].nlargest(25, f"score_{lid}")["id"].tolist()
        assert evidence_candidates(data, lid, 25)["id"].tolist() == want
        assert len(want) == 25 and not df[ok]["author_team"].eq("Legal").all()
        hidden = df[df[f"f_{lid}"] & ~ok]
        assert not set(hidden["id"]) & set(evidence_candidates(data, lid, 10_000)["id"])
