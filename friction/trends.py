"""Trends from the results store: rates with honest intervals, period-over-period tests with
false-discovery control, team pairs, distinctive phrases and communication health.

Every function takes the stored messages table (a DataFrame) and returns a tidy DataFrame, so
the report, the CSV tables and the tests all read the same numbers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

PERIODS = ("quarter", "month", "week")


def assign_period(ts: pd.Series, period: str = "quarter") -> pd.Series:
    """'2025-Q3', '2025-07' or '2025-W27' (ISO week) for each timestamp; '' when unknown."""
    ts = pd.to_datetime(ts, utc=True, errors="coerce")
    if period == "quarter":
        out = ts.dt.year.astype("Int64").astype(str) + "-Q" + ts.dt.quarter.astype("Int64").astype(str)
    elif period == "month":
        out = ts.dt.strftime("%Y-%m")
    elif period == "week":
        iso = ts.dt.isocalendar()
        out = iso["year"].astype("Int64").astype(str) + "-W" + iso["week"].astype("Int64").astype(str).str.zfill(2)
    else:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    return out.where(ts.notna(), "").fillna("")


def wilson(k: np.ndarray | int, n: np.ndarray | int, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for a proportion k/n (well-behaved at 0 and for small n)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, 0.0)
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lo, hi


def _with_rates(df: pd.DataFrame, k_col: str = "count", n_col: str = "n") -> pd.DataFrame:
    lo, hi = wilson(df[k_col].to_numpy(), df[n_col].to_numpy())
    df["rate_per_1000"] = np.where(df[n_col] > 0, 1000 * df[k_col] / df[n_col].clip(lower=1), np.nan)
    df["ci_low"], df["ci_high"] = 1000 * lo, 1000 * hi
    return df


def label_rates(msgs: pd.DataFrame, label_ids: Sequence[str], period: str, k: int) -> pd.DataFrame:
    """Per period and label: flagged messages, all messages, rate per 1,000 with 95% interval,
    distinct authors behind the count, and whether the cell is suppressed (< k authors, zero
    included: a hidden cell must not say whether anyone was flagged)."""
    m = msgs.assign(period=assign_period(msgs["timestamp"], period))
    m = m[m["period"] != ""]
    rows = []
    for per, g in m.groupby("period", sort=True):
        for lid in label_ids:
            hit = g[g[f"flag_{lid}"].fillna(False).astype(bool)]
            rows.append({"period": per, "label": lid, "count": len(hit), "n": len(g),
                         "authors": hit["author"].nunique()})
    out = pd.DataFrame(rows, columns=["period", "label", "count", "n", "authors"])
    out = _with_rates(out)
    out["suppressed"] = out["authors"] < k
    return out


def team_sizes(msgs: pd.DataFrame) -> pd.Series:
    """Distinct authors per team over the whole store: how many people a team is known to have."""
    return msgs.groupby(msgs["author_team"].fillna("unknown"))["author"].nunique()


def pair_rates(msgs: pd.DataFrame, label_ids: Sequence[str], period: str, k: int) -> pd.DataFrame:
    """Per period, label and (author team -> target team): count, rate per 1,000 messages the
    author team wrote that period, interval, and suppression: fewer than k distinct authors
    behind the cell (zero included), or a target team known to have fewer than k people (a rise
    towards a team of two is about those two)."""
    m = msgs.assign(period=assign_period(msgs["timestamp"], period))
    m = m[(m["period"] != "") & (m["target_team"].fillna("") != "")]
    written = msgs.assign(period=assign_period(msgs["timestamp"], period)).groupby(["period", "author_team"]).size()
    rows = []
    for lid in label_ids:
        hit = m[m[f"flag_{lid}"].fillna(False).astype(bool)]
        for (per, a, t), g in hit.groupby(["period", "author_team", "target_team"]):
            rows.append({"period": per, "label": lid, "author_team": a, "target_team": t, "count": len(g),
                         "n": int(written.get((per, a), 0)), "authors": g["author"].nunique()})
    out = pd.DataFrame(rows, columns=["period", "label", "author_team", "target_team", "count", "n", "authors"])
    # every period the pair could have appeared in, so a drop to zero is a visible cell too
    if not out.empty:
        full = []
        periods = sorted(p for p in written.index.get_level_values(0).unique() if p)
        for (lid, a, t), g in out.groupby(["label", "author_team", "target_team"]):
            have = set(g["period"])
            for per in periods:
                if per not in have:
                    full.append({"period": per, "label": lid, "author_team": a, "target_team": t, "count": 0,
                                 "n": int(written.get((per, a), 0)), "authors": 0})
        out = pd.concat([out, pd.DataFrame(full, columns=out.columns)], ignore_index=True)
        out = out.sort_values(["label", "author_team", "target_team", "period"]).reset_index(drop=True)
    out = _with_rates(out)
    sizes = team_sizes(msgs)
    out["suppressed"] = (out["authors"] < k) | (out["target_team"].map(sizes).fillna(0) < k)
    return out


def protect_complements(msgs: pd.DataFrame, rates: pd.DataFrame, pairs: pd.DataFrame, label_ids: Sequence[str],
                        period: str, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complementary suppression: a label's count in a period (all teams) minus its visible team
    pairs must not reveal a small group. Messages outside every pair (no target team) count as
    hidden, since they are never shown. Hides more pair cells, or the total, as needed."""
    from .privacy import complementary_hidden

    rates, pairs = rates.copy(), pairs.copy()
    m = msgs.assign(period=assign_period(msgs["timestamp"], period))
    m = m[m["period"] != ""]
    target = m["target_team"].fillna("")
    m = m.assign(cell=[(a, t) if t else "" for a, t in zip(m["author_team"].fillna("unknown"), target)])
    cell = pd.Series(list(zip(pairs["author_team"], pairs["target_team"])), index=pairs.index, dtype=object)
    for lid in label_ids:
        flagged = m[m[f"flag_{lid}"].fillna(False).astype(bool)]
        for per, g in flagged.groupby("period"):
            at_rate = (rates["label"] == lid) & (rates["period"] == per)
            at_pair = (pairs["label"] == lid) & (pairs["period"] == per)
            if rates.loc[at_rate, "suppressed"].all():
                pairs.loc[at_pair, "suppressed"] = True
                continue
            hidden, total_hidden = complementary_hidden(g["cell"], g["author"], k,
                                                        {""} | set(cell[at_pair & pairs["suppressed"]]))
            pairs.loc[at_pair & cell.isin(hidden), "suppressed"] = True
            if total_hidden:
                rates.loc[at_rate, "suppressed"] = True
    return rates, pairs


def pair_matrix(msgs: pd.DataFrame, pairs: pd.DataFrame, label_ids: Sequence[str], period: str,
                k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The heat map over the whole span: flagged messages (any label) per 1,000 the author team
    wrote, per author team (rows) and target team (columns), and which cells are hidden. A cell
    is hidden when fewer than k distinct authors are behind it (zero included), when the target
    team has fewer than k people, or when its flagged messages outside the visible per-period
    cells (which a reader could subtract) come from fewer than k authors."""
    known = (msgs["target_team"].fillna("") != "") & (msgs["author_team"].fillna("unknown") != "unknown")
    m = msgs.loc[known].assign(period=assign_period(msgs.loc[known, "timestamp"], period))
    teams = sorted((set(m["author_team"]) | set(m["target_team"])) - {"unknown", ""})
    mat = pd.DataFrame(np.nan, index=teams, columns=teams)
    hid = pd.DataFrame(True, index=teams, columns=teams)
    if not teams:
        return mat, hid
    for t in teams:
        hid.loc[t, t] = False  # the diagonal is empty by construction, not by data
    sizes = team_sizes(msgs)
    written = msgs.groupby("author_team").size()
    visible = pairs[~pairs["suppressed"]]
    shown = set(zip(visible["label"], visible["period"], visible["author_team"], visible["target_team"]))
    flags = {lid: m[f"flag_{lid}"].fillna(False).astype(bool) for lid in label_ids}
    any_flag = m["labels"].fillna("") != ""
    covered = pd.Series(False, index=m.index)
    for lid, f in flags.items():
        keys = list(zip([lid] * len(m), m["period"], m["author_team"], m["target_team"]))
        covered |= f & pd.Series([key in shown for key in keys], index=m.index)
    for (a, t), g in m[any_flag].groupby(["author_team", "target_team"]):
        if a not in teams or t not in teams or a == t:
            continue
        mat.loc[a, t] = 1000 * len(g) / max(1, written.get(a, 0))
        rest = g[~covered.loc[g.index]]
        hid.loc[a, t] = bool(g["author"].nunique() < k or sizes.get(t, 0) < k
                             or (len(rest) and rest["author"].nunique() < k))
    return mat.where(~hid), hid


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """q-values controlling the false discovery rate across every cell tested."""
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / (np.arange(p.size) + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.clip(q, 0, 1)
    return out


def changes(rates: pd.DataFrame, keys: Sequence[str], alpha: float = 0.05) -> pd.DataFrame:
    """Each cell against the same cell one period earlier: Fisher's exact test on the 2x2 table
    (flagged / not, this period / last), then Benjamini-Hochberg across all cells. Only a
    significant increase is called a rise; suppressed cells are neither tested nor shown."""
    from scipy.stats import fisher_exact

    rows = []
    for key, g in rates.sort_values("period").groupby(list(keys)):
        g = g.reset_index(drop=True)
        for i in range(1, len(g)):
            prev, cur = g.iloc[i - 1], g.iloc[i]
            if prev["suppressed"] or cur["suppressed"] or prev["n"] == 0 or cur["n"] == 0:
                continue
            if prev["count"] == 0 and cur["count"] == 0:
                continue
            table = [[int(cur["count"]), int(cur["n"] - cur["count"])], [int(prev["count"]), int(prev["n"] - prev["count"])]]
            p = fisher_exact(table)[1]
            rows.append({**dict(zip(keys, key if isinstance(key, tuple) else (key,))),
                         "period": cur["period"], "previous": prev["period"],
                         "rate_before": prev["rate_per_1000"], "rate_after": cur["rate_per_1000"],
                         "count_before": int(prev["count"]), "count_after": int(cur["count"]), "p_value": p})
    out = pd.DataFrame(rows, columns=[*keys, "period", "previous", "rate_before", "rate_after",
                                      "count_before", "count_after", "p_value"])
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["significant"] = out["q_value"] < alpha
    out["direction"] = np.where(out["rate_after"] > out["rate_before"], "rise", "fall")
    out["called"] = np.where(out["significant"], out["direction"], "no significant change")
    return out


# ---------------------------------------------------------------- words

_WORD = re.compile(r"[a-z][a-z'’-]{2,}")


def token_bag(texts: Sequence[str], drop: Iterable[str] = ()) -> list[str]:
    """Redacted texts to stored token bags: lower-case words, no stop words, no redaction tags,
    and none of the words in `drop` (roster names: a name never reaches a word list, even one
    the redaction missed)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    drop = {w.lower() for w in drop}
    out = []
    for t in texts:
        t = re.sub(r"\[[A-Z]+\]", " ", t or "").lower()
        words = (w.strip("'’-") for w in _WORD.findall(t) if w not in STOP_WORDS)
        out.append(" ".join(w for w in words if w and w not in drop))
    return out


#: Words common in any workplace message, whatever its tone: a word list made of them tells a
#: reader nothing about the label (stop words are gone already).
GENERIC = frozenset("""
able actually add added ago ahead ask asked asking away awesome bad big bit cool come coming
complete confirm could day days did does doing done email end ensure everyone fine follow found
free friday get gets getting give glad go goes going good got great guys happy hear heard help
hey hi hope idea info item items just keep kind know later let like line little lol look looking
looks lot lots make makes making meeting message monday morning need needed needs new nice note
ok okay one open people point post quick quite read ready really right said say says see seems
send sent set share shared should sorry start started stuff sure take talk team teams tell
thank thanks thing things think thought thursday time today told tomorrow try trying tuesday two
update updated use used want wanted way wednesday week weeks well went work working yeah yes
yesterday i'm i've i'll i'd we're we've we'll it's that's there's they're you're don't didn't doesn't
isn't wasn't can't won't let's what's""".split())


def is_generic(term: str) -> bool:
    """A single generic word, or a phrase made only of generic words ('let know')."""
    return all(w in GENERIC for w in term.split())


def prefer_phrases(scored: Sequence[tuple[float, str, int]], top: int) -> list[tuple[float, str, int]]:
    """The top terms, two-word phrases first: every phrase scoring at least half the best z, then
    single words not already inside a chosen phrase, each part sorted by z."""
    if not scored:
        return []
    best = scored[0][0]
    phrases = [s for s in scored if " " in s[1] and s[0] >= 0.5 * best][:top]
    inside = {w for _, t, _ in phrases for w in t.split()}
    words = [s for s in scored if " " not in s[1] and s[1] not in inside]
    return (phrases + words)[:top]


def _terms(bag: str) -> list[str]:
    words = bag.split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def distinctive_phrases(msgs: pd.DataFrame, label_ids: Sequence[str], period: str, top: int = 8,
                        prior: float = 500.0, min_count: int = 3, k: int = 1, min_lift: float = 2.0,
                        token_batches: Callable[[], Iterable[list[str]]] | None = None) -> pd.DataFrame:
    """Words and two-word phrases that set a label's flagged messages in one period apart from
    every other message: log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi &
    Quinn 2008), z-scored. Groups from fewer than k authors are skipped. A term must be at least
    `min_lift` times as frequent in the group as overall and not generic (see `is_generic`), and
    two-word phrases come before single words (see `prefer_phrases`): a reader recognises
    "missed deadline" where "found" or "asked" says nothing.

    Token bags come from msgs["tokens"], or, for millions of messages, from `token_batches()`
    (batches in msgs' row order, read twice). Only the flagged messages' terms are held in
    memory; the background pass counts just those terms."""
    m = msgs.assign(period=assign_period(msgs["timestamp"], period))
    if token_batches is None:
        bags = m["tokens"].fillna("").tolist()
        token_batches = lambda: [bags]  # noqa: E731
    group_rows: dict[tuple[str, str], np.ndarray] = {}
    for lid in label_ids:
        flag = m[f"flag_{lid}"].fillna(False).astype(bool).to_numpy()
        for per in sorted(set(m.loc[flag, "period"]) - {""}):
            mask = flag & (m["period"] == per).to_numpy()
            if m.loc[mask, "author"].nunique() >= k:
                group_rows[(lid, per)] = mask
    groups: dict[tuple[str, str], Counter] = {key: Counter() for key in group_rows}
    any_group = np.zeros(len(m), dtype=bool)
    for mask in group_rows.values():
        any_group |= mask
    offset = 0
    for batch in token_batches():  # pass 1: the flagged messages' terms, per group
        for j in np.flatnonzero(any_group[offset:offset + len(batch)]):
            terms = _terms(batch[j])
            for key, mask in group_rows.items():
                if mask[offset + j]:
                    groups[key].update(terms)
        offset += len(batch)
    wanted = set().union(*groups.values()) if groups else set()
    total: Counter = Counter()
    n_total = 0
    for batch in token_batches():  # pass 2: how often those terms occur anywhere
        for bag in batch:
            terms = _terms(bag)
            n_total += len(terms)
            total.update(t for t in terms if t in wanted)
    rows = []
    if not n_total:
        return pd.DataFrame(rows, columns=["period", "label", "term", "z", "count"])
    a0 = prior
    for (lid, per), grp in groups.items():
        n_i = sum(grp.values())
        n_j = n_total - n_i
        scored = []
        for t, y_i in grp.items():
            if y_i < min_count:
                continue
            y_j = total[t] - y_i
            a = prior * total[t] / n_total
            delta = math.log((y_i + a) / (n_i + a0 - y_i - a)) - math.log((y_j + a) / (n_j + a0 - y_j - a))
            z = delta / math.sqrt(1 / (y_i + a) + 1 / (y_j + a))
            lift = (y_i / n_i) / (total[t] / n_total)
            if lift >= min_lift and not is_generic(t):
                scored.append((z, t, y_i))
        for z, t, y in prefer_phrases(sorted(scored, reverse=True), top):
            rows.append({"period": per, "label": lid, "term": t, "z": round(z, 2), "count": y})
    return pd.DataFrame(rows, columns=["period", "label", "term", "z", "count"]).sort_values(
        ["label", "period", "z"], ascending=[True, True, False]).reset_index(drop=True)


# ---------------------------------------------------------------- metadata only

def communication_health(msgs: pd.DataFrame, period: str, unanswered_after_days: float = 7.0,
                         k: int = 1) -> pd.DataFrame:
    """From metadata alone: share of cross-team messages, median reply latency (hours) across
    teams vs within a team, and requests left unanswered. A figure behind which fewer than k
    distinct authors stand (the period's writers, the replies, the requests) is left empty."""
    m = msgs.assign(period=assign_period(msgs["timestamp"], period))
    m = m[m["period"] != ""].copy()
    m["timestamp"] = pd.to_datetime(m["timestamp"], utc=True)
    known = m["author_team"].fillna("unknown") != "unknown"
    other = m["target_team"].fillna("").ne("") & m["target_team"].ne(m["author_team"])
    m["cross_team"] = known & other
    parents = m.set_index("id")[["timestamp", "author_team", "author"]].add_suffix("_parent")
    rep = m[m["reply_to"].fillna("").isin(parents.index)].copy()
    rep = rep.join(parents, on="reply_to")
    rep["latency_h"] = (rep["timestamp"] - rep["timestamp_parent"]).dt.total_seconds() / 3600
    rep = rep[rep["latency_h"] >= 0]
    rep["across"] = rep["author_team"] != rep["author_team_parent"]
    answered = set(m["reply_to"].fillna(""))
    answered_in_thread = _answered_in_thread(m, unanswered_after_days)
    req = m[m["is_request"].fillna(False).astype(bool)]
    open_req = req[~req["id"].isin(answered) & ~req["id"].isin(answered_in_thread)]
    rows = []
    for per, g in m.groupby("period", sort=True):
        r = rep[rep["period"] == per]
        q = req[req["period"] == per]
        rows.append({
            "period": per, "messages": len(g),
            "cross_team_share": round(float(g["cross_team"].mean()), 4) if len(g) else np.nan,
            "median_reply_hours_across": round(float(r.loc[r["across"], "latency_h"].median()), 2) if r["across"].any() else np.nan,
            "median_reply_hours_within": round(float(r.loc[~r["across"], "latency_h"].median()), 2) if (~r["across"]).any() else np.nan,
            "requests": len(q),
            "unanswered_requests": int(open_req["period"].eq(per).sum()),
        })
    out = pd.DataFrame(rows, columns=["period", "messages", "cross_team_share", "median_reply_hours_across",
                                      "median_reply_hours_within", "requests", "unanswered_requests"])
    out["unanswered_share"] = np.where(out["requests"] > 0, out["unanswered_requests"] / out["requests"].clip(lower=1), np.nan)
    if k <= 1:
        return out
    out = out.astype({c: float for c in ("messages", "requests", "unanswered_requests")})
    by_period = {per: g for per, g in m.groupby("period", sort=True)}
    for i, per in enumerate(out["period"]):
        r, q = rep[rep["period"] == per], req[req["period"] == per]
        hide = {"cross_team_share": by_period[per]["author"].nunique() < k,
                "median_reply_hours_across": r.loc[r["across"], "author"].nunique() < k,
                "median_reply_hours_within": r.loc[~r["across"], "author"].nunique() < k,
                "requests": q["author"].nunique() < k}
        hide["messages"] = hide["cross_team_share"]
        hide["unanswered_requests"] = hide["unanswered_share"] = hide["requests"]
        for col, hidden in hide.items():
            if hidden:
                out.loc[out.index[i], col] = np.nan
    return out


def _answered_in_thread(m: pd.DataFrame, days: float) -> set[str]:
    """Ids of messages after which someone else wrote in the same thread within `days`:
    consecutive messages of one author form a run; a run is answered by the next run."""
    t = m[m["thread_id"].fillna("") != ""].sort_values(["thread_id", "timestamp"])
    if t.empty:
        return set()
    new_run = (t["thread_id"] != t["thread_id"].shift()) | (t["author"] != t["author"].shift())
    run = new_run.cumsum()
    first = t[new_run.to_numpy()].set_index(run[new_run].to_numpy())
    nxt_thread = first["thread_id"].shift(-1)
    nxt_time = first["timestamp"].shift(-1)
    run_answer = pd.Series(np.where(nxt_thread.to_numpy() == first["thread_id"].to_numpy(), nxt_time, pd.NaT),
                           index=first.index)
    answer_at = pd.to_datetime(run.map(run_answer), utc=True)
    ok = (answer_at - t["timestamp"]) <= pd.Timedelta(days=days)
    return set(t.loc[ok.fillna(False).to_numpy(), "id"])


_REQUEST = re.compile(r"\?|\b(can|could|would) you\b|\bplease\b|\bany update\b|\bneed (you|your)\b|\blet me know\b", re.I)


def is_request(texts: Sequence[str]) -> list[bool]:
    """A message that asks something of someone (a question or a request)."""
    return [bool(_REQUEST.search(t or "")) for t in texts]
