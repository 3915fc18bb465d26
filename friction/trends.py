"""Trends from the results store: rates with honest intervals, period-over-period tests with
false-discovery control, team pairs, distinctive phrases and communication health.

Every aggregate is one DuckDB query over the stored messages (`Messages`): DuckDB streams the
rows, and Python holds only what a query returns, tables the size of periods x labels x team
pairs, so a report over millions of messages needs no more memory than one over thousands.
What stays in numpy works on those tables: Wilson intervals, the tests between periods and the
false-discovery correction, the choice among distinctive terms. Each function returns a tidy
DataFrame, so the report, the CSV tables and the tests all read the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .store import Store

#: A period of each message, in UTC ('2025-Q3', '2025-07', '2025-W27': ISO weeks); {t} is the time.
PERIOD_SQL = {
    "quarter": "year({t})::VARCHAR || '-Q' || quarter({t})::VARCHAR",
    "month": "strftime({t}, '%Y-%m')",
    "week": "isoyear({t})::VARCHAR || '-W' || lpad(week({t})::VARCHAR, 2, '0')",
}
PERIODS = tuple(PERIOD_SQL)
#: What a label id may be when it is written into SQL as part of a column name (ids are read from
#: the store's own columns; anything else is refused rather than quoted).
LABEL_ID = re.compile(r"[\w-]+")


@dataclass(frozen=True)
class Messages:
    """One model's stored messages as the SQL relation `m`: a row per message with its period
    ('' when the time is unknown), its flags f0, f1, ... and scores s0, s1, ... by label position,
    empty strings for a missing target team, thread or reply link. Each aggregate below is one
    query over `m`; nothing here holds a row per message."""

    store: "Store"
    model_id: str | None
    period: str = "quarter"
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.period not in PERIOD_SQL:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}")
        for lid in self.labels:
            if not LABEL_ID.fullmatch(lid):
                raise ValueError(f"not a label id: {lid!r}")

    @classmethod
    def of(cls, store: "Store", period: str = "quarter", labels: Sequence[str] | None = None,
           model_id: str | None = None) -> "Messages":
        """The messages of one model (the latest scan's by default), with every label the store
        has columns for unless `labels` names some."""
        return cls(store, model_id or store.latest_model(), period,
                   tuple(store.label_ids() if labels is None else labels))

    def relation(self) -> str:
        """The CTE that defines `m` (inlined into each query, never materialised)."""
        t = "timezone('UTC', \"timestamp\")"
        flags = "".join(f', coalesce("flag_{lid}", false) AS f{i}, "score_{lid}" AS s{i}'
                        for i, lid in enumerate(self.labels))
        return ("m AS NOT MATERIALIZED (SELECT id, \"timestamp\" AS ts, channel, author, author_team, "
                "coalesce(target_team, '') AS target_team, coalesce(thread_id, '') AS thread_id, "
                "coalesce(reply_to, '') AS reply_to, coalesce(is_request, false) AS is_request, "
                f"coalesce(labels, '') <> '' AS any_flag, tokens, "
                f"coalesce({PERIOD_SQL[self.period].format(t=t)}, '') AS period{flags} "
                "FROM messages WHERE model_id = $model)")

    def query(self, sql: str, *ctes: str, tables: Mapping[str, pd.DataFrame] | None = None,
              **params) -> pd.DataFrame:
        """Run `sql` over `m` and the further CTEs given ('name AS (...)'), with small DataFrames
        registered under `tables` for the query's length and `params` bound by name."""
        text = "WITH " + ", ".join((self.relation(), *ctes)) + " " + sql
        return self.store.query(text, {"model": self.model_id, **params}, tables)

    def flagged(self, cols: str, where: str = "TRUE", source: str = "m") -> str:
        """SQL for a row per (label, message it flags): the label's position `li`, then `cols`."""
        if not self.labels:
            return f"SELECT NULL::INTEGER AS li, {cols} FROM {source} WHERE FALSE"
        return " UNION ALL ".join(f"SELECT {i} AS li, {cols} FROM {source} WHERE f{i} AND ({where})"
                                  for i in range(len(self.labels)))

    def counts(self, keys: Sequence[str], where: str = "TRUE") -> pd.DataFrame:
        """Per `keys` (over the rows where `where` holds): messages `n`, each label's flagged
        messages (c0, c1, ...) and the distinct authors behind them (a0, a1, ...). Authors are
        counted over the flagged rows only, so DuckDB's distinct-value tables stay small."""
        cols = ", ".join(keys)
        flagged = "".join(f", count(*) FILTER (WHERE f{i}) AS c{i}" for i in range(len(self.labels)))
        out = self.query(f"SELECT {cols}, count(*) AS n{flagged} FROM m WHERE {where} GROUP BY {cols}")
        authors = self.query(f"SELECT li, {cols}, count(DISTINCT author) AS a FROM "
                             f"({self.flagged(cols + ', author', where)}) GROUP BY li, {cols}")
        for i in range(len(self.labels)):
            a = authors.loc[authors["li"] == i, [*keys, "a"]].rename(columns={"a": f"a{i}"})
            out = out.merge(a, on=list(keys), how="left")
            out[f"a{i}"] = out[f"a{i}"].fillna(0).astype("int64")
        return out

    def label_frame(self, df: pd.DataFrame, keep: Sequence[str] = ()) -> pd.DataFrame:
        """(label, ...) rows of `df` with label ids instead of positions, for joining in SQL."""
        index = {lid: i for i, lid in enumerate(self.labels)}
        out = df[["label", *keep]].copy()
        out.insert(0, "li", out.pop("label").map(index).astype("int64"))
        return out


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


def label_rates(msgs: Messages, k: int) -> pd.DataFrame:
    """Per period and label: flagged messages, all messages, rate per 1,000 with 95% interval,
    distinct authors behind the count, and whether the cell is suppressed (< k authors, zero
    included: a hidden cell must not say whether anyone was flagged)."""
    agg = msgs.counts(["period"], "period <> ''").sort_values("period")
    rows = [{"period": r["period"], "label": lid, "count": r[f"c{i}"], "n": r["n"], "authors": r[f"a{i}"]}
            for r in agg.to_dict("records") for i, lid in enumerate(msgs.labels)]
    out = _with_rates(pd.DataFrame(rows, columns=["period", "label", "count", "n", "authors"]))
    out["suppressed"] = out["authors"] < k
    return out


def team_sizes(msgs: Messages) -> pd.Series:
    """Distinct authors per team over the whole store: how many people a team is known to have."""
    df = msgs.query("SELECT coalesce(author_team, 'unknown') AS team, count(DISTINCT author) AS people "
                    "FROM m GROUP BY 1")
    return df.set_index("team")["people"]


def written(msgs: Messages, keys: Sequence[str] = ("period", "author_team")) -> dict[tuple, int]:
    """Messages each author team wrote, per `keys`: a team pair's denominator."""
    cols = ", ".join(keys)
    df = msgs.query(f"SELECT {cols}, count(*) AS n FROM m WHERE author_team IS NOT NULL GROUP BY {cols}")
    return {tuple(r[c] for c in keys): int(r["n"]) for r in df.to_dict("records")}


def pair_rates(msgs: Messages, k: int) -> pd.DataFrame:
    """Per period, label and (author team -> target team): count, rate per 1,000 messages the
    author team wrote that period, interval, and suppression: fewer than k distinct authors
    behind the cell (zero included), or a target team known to have fewer than k people (a rise
    towards a team of two is about those two)."""
    agg = msgs.counts(["period", "author_team", "target_team"],
                      "period <> '' AND target_team <> '' AND author_team IS NOT NULL")
    n_of = written(msgs)
    cols = ["period", "label", "author_team", "target_team", "count", "n", "authors"]
    rows = [{"period": r["period"], "label": lid, "author_team": r["author_team"], "target_team": r["target_team"],
             "count": int(r[f"c{i}"]), "n": n_of.get((r["period"], r["author_team"]), 0), "authors": int(r[f"a{i}"])}
            for r in agg.to_dict("records") for i, lid in enumerate(msgs.labels) if r[f"c{i}"]]
    out = pd.DataFrame(rows, columns=cols)
    # every period the pair could have appeared in, so a drop to zero is a visible cell too
    if not out.empty:
        periods = sorted({p for p, _ in n_of if p})
        have = set(zip(out["label"], out["author_team"], out["target_team"], out["period"]))
        full = [{"period": per, "label": lid, "author_team": a, "target_team": t, "count": 0,
                 "n": n_of.get((per, a), 0), "authors": 0}
                for lid, a, t in sorted(set(zip(out["label"], out["author_team"], out["target_team"])))
                for per in periods if (lid, a, t, per) not in have]
        out = pd.concat([out, pd.DataFrame(full, columns=cols)], ignore_index=True)
        out = out.sort_values(["label", "author_team", "target_team", "period"]).reset_index(drop=True)
    out = _with_rates(out)
    out["suppressed"] = (out["authors"] < k) | (out["target_team"].map(team_sizes(msgs)).fillna(0) < k)
    return out


def complementary_cells(msgs: Messages, rows: str, groups: Sequence[str], cells: Sequence[str], k: int,
                        hidden: str = "FALSE", tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Complementary suppression for many published totals at once, in one query.

    `rows` is SQL for the flagged messages under the totals: the total's key (`groups`), the
    cell's key (`cells`), author, ts and id. A cell from fewer than k distinct authors is hidden,
    and so is a cell where `hidden` (an SQL condition on the cell) holds; then, while the hidden
    cells of a total together come from fewer than k authors, the visible cell with the fewest
    authors (then messages, then the earliest message) is hidden too. Hiding cells in that order
    until k authors are reached is the same as hiding the cells up to the first position where
    the running count of authors (each counted at the first cell that hides them) reaches k.
    Returns a row per cell: its keys, `hidden`, and `total_hidden` (nothing was left to hide
    beside the total, so the total must go too)."""
    g, gc = ", ".join(groups), ", ".join([*groups, *cells])
    ctes = [
        f"f AS (SELECT *, row_number() OVER (ORDER BY ts, id) AS pos FROM ({rows}))",
        f"cells AS (SELECT {gc}, count(DISTINCT author) AS authors, count(*) AS size, min(pos) AS first_pos "
        f"FROM f GROUP BY {gc})",
        f"marked AS (SELECT *, authors < $k OR ({hidden}) AS hidden0 FROM cells)",
        f"ranked AS (SELECT *, CASE WHEN hidden0 THEN 0 ELSE row_number() OVER (PARTITION BY {g}, hidden0 "
        "ORDER BY authors, size, first_pos) END AS r FROM marked)",
        f"firsts AS (SELECT {g}, author, min(r) AS r FROM f JOIN ranked USING ({gc}) WHERE author IS NOT NULL "
        f"GROUP BY {g}, author)",
        f"reached AS (SELECT {g}, r, count(*) OVER (PARTITION BY {g} ORDER BY r RANGE BETWEEN UNBOUNDED PRECEDING "
        "AND CURRENT ROW) AS people FROM firsts)",
        f"cuts AS (SELECT {g}, min(r) FILTER (WHERE people >= $k) AS cut FROM reached GROUP BY {g})",
        f"starts AS (SELECT {g}, bool_or(hidden0) AS any_hidden FROM marked GROUP BY {g})",
    ]
    return msgs.query(f"SELECT {gc}, hidden0 OR (any_hidden AND (cut IS NULL OR r <= cut)) AS hidden, "
                      f"any_hidden AND cut IS NULL AS total_hidden FROM ranked JOIN starts USING ({g}) "
                      f"LEFT JOIN cuts USING ({g})", *ctes, tables=tables, k=k)


def protect_complements(msgs: Messages, rates: pd.DataFrame, pairs: pd.DataFrame,
                        k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complementary suppression: a label's count in a period (all teams) minus its visible team
    pairs must not reveal a small group. Messages outside every pair (no target team) count as
    hidden, since they are never shown. Hides more pair cells, or the total, as needed."""
    rates, pairs = rates.copy(), pairs.copy()
    rows = msgs.flagged("period, CASE WHEN target_team = '' THEN '' ELSE coalesce(author_team, 'unknown') END AS a, "
                        "target_team AS t, author, ts, id", "period <> ''")
    hidden = msgs.label_frame(pairs[pairs["suppressed"]], ["period", "author_team", "target_team"])
    cells = complementary_cells(msgs, rows, ["li", "period"], ["a", "t"], k,
                                "t = '' OR EXISTS (SELECT 1 FROM hidden_pairs h WHERE h.li = cells.li AND "
                                "h.period = cells.period AND h.author_team = cells.a AND h.target_team = cells.t)",
                                {"hidden_pairs": hidden})
    label_of = dict(enumerate(msgs.labels))
    cells["label"] = cells["li"].map(label_of)
    gone = set(zip(*(cells.loc[cells["hidden"], c] for c in ("label", "period", "a", "t"))))
    totals = set(zip(*(cells.loc[cells["total_hidden"], c] for c in ("label", "period"))))
    hidden_totals = set(zip(rates.loc[rates["suppressed"], "label"], rates.loc[rates["suppressed"], "period"]))
    keys = list(zip(pairs["label"], pairs["period"], pairs["author_team"], pairs["target_team"]))
    # a total hidden already hides all its pairs; otherwise the cells the rule chose
    pairs["suppressed"] |= np.array([key in gone or key[:2] in hidden_totals for key in keys], dtype=bool)
    rates["suppressed"] |= np.array([key in totals for key in zip(rates["label"], rates["period"])], dtype=bool)
    return rates, pairs


def pair_matrix(msgs: Messages, pairs: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The heat map over the whole span: flagged messages (any label) per 1,000 the author team
    wrote, per author team (rows) and target team (columns), and which cells are hidden. A cell
    is hidden when fewer than k distinct authors are behind it (zero included), when the target
    team has fewer than k people, or when its flagged messages outside the visible per-period
    cells (which a reader could subtract) come from fewer than k authors."""
    known = "author_team IS NOT NULL AND author_team <> 'unknown' AND target_team <> ''"
    names = msgs.query(f"SELECT DISTINCT team FROM (SELECT author_team AS team FROM m WHERE {known} UNION ALL "
                       f"SELECT target_team FROM m WHERE {known}) WHERE team NOT IN ('unknown', '')")
    teams = sorted(names["team"])
    mat = pd.DataFrame(np.nan, index=teams, columns=teams)
    hid = pd.DataFrame(True, index=teams, columns=teams)
    if not teams:
        return mat, hid
    for t in teams:
        hid.loc[t, t] = False  # the diagonal is empty by construction, not by data
    visible = msgs.label_frame(pairs[~pairs["suppressed"]], ["period", "author_team", "target_team"])
    covered = msgs.flagged("id, period, author_team, target_team", known)
    cells = msgs.query(
        "SELECT m.author_team AS a, m.target_team AS t, count(*) AS flagged, count(DISTINCT m.author) AS authors, "
        "count(*) FILTER (WHERE c.id IS NULL) AS rest, "
        "count(DISTINCT m.author) FILTER (WHERE c.id IS NULL) AS rest_authors "
        f"FROM m LEFT JOIN covered c ON c.id = m.id WHERE {known} AND any_flag AND author_team <> '' "
        "AND author_team <> target_team AND target_team <> 'unknown' GROUP BY ALL",
        f"covered AS (SELECT DISTINCT x.id FROM ({covered}) x JOIN visible_pairs v "
        "USING (li, period, author_team, target_team))", tables={"visible_pairs": visible})
    sizes, wrote = team_sizes(msgs), written(msgs, ["author_team"])
    for r in cells.to_dict("records"):
        a, t = r["a"], r["t"]
        mat.loc[a, t] = 1000 * r["flagged"] / max(1, wrote.get((a,), 0))
        hid.loc[a, t] = bool(r["authors"] < k or sizes.get(t, 0) < k or (r["rest"] and r["rest_authors"] < k))
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


def distinctive_phrases(msgs: Messages, top: int = 8, prior: float = 500.0, min_count: int = 3, k: int = 1,
                        min_lift: float = 2.0) -> pd.DataFrame:
    """Words and two-word phrases that set a label's flagged messages in one period apart from
    every other message: log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi &
    Quinn 2008), z-scored. Groups from fewer than k authors are skipped. A term must be at least
    `min_lift` times as frequent in the group as overall and not generic (see `is_generic`), and
    two-word phrases come before single words (see `prefer_phrases`): a reader recognises
    "missed deadline" where "found" or "asked" says nothing.

    A token bag's terms are its words (split on white space) and each pair of neighbours. DuckDB
    counts them: per group for the flagged messages, and over every message for just the terms
    some group holds `min_count` times; it scores them, and returns per group only the phrases
    and words that can still make the top (at most `top` phrases and 3 x `top` words: a chosen
    phrase can rule out two words)."""
    words = "list_filter(string_split_regex(coalesce(tokens, ''), '\\s+'), lambda x: x <> '')"
    flagged = msgs.flagged("period, author, terms", "period <> ''", source="t")
    ctes = [
        f"w AS NOT MATERIALIZED (SELECT *, {words} AS w FROM m)",
        "t AS NOT MATERIALIZED (SELECT *, list_concat(w, list_transform(range(1, len(w)), "
        "lambda i: w[i] || ' ' || w[i + 1])) AS terms FROM w)",
        f"flagged AS NOT MATERIALIZED ({flagged})",
        "groups AS (SELECT li, period FROM flagged GROUP BY li, period HAVING count(DISTINCT author) >= $k)",
        "g AS NOT MATERIALIZED (SELECT li, period, terms FROM flagged JOIN groups USING (li, period))",
        "sizes AS (SELECT li, period, sum(len(terms)) AS n_i FROM g GROUP BY li, period)",
        "counts AS (SELECT li, period, term, count(*) AS y_i FROM (SELECT li, period, unnest(terms) AS term FROM g) "
        "GROUP BY li, period, term HAVING count(*) >= $min_count)",
        "wanted AS (SELECT DISTINCT term FROM counts)",
        # one pass over every message: the wanted terms' counts, and (term NULL) all the others
        "everywhere AS MATERIALIZED (SELECT k.term, count(*) AS total FROM (SELECT unnest(terms) AS term FROM t) a "
        "LEFT JOIN wanted k ON k.term = a.term GROUP BY k.term)",
        "n_all AS (SELECT sum(total) AS n_total FROM everywhere)",
        # the same arithmetic, in the same order, as the formula in Monroe et al. (eq. 16, 19)
        "scored AS (SELECT li, period, term, y_i, total, n_total, n_i, $prior * total / n_total AS a FROM counts "
        "JOIN sizes USING (li, period) JOIN everywhere USING (term), n_all)",
        "z AS (SELECT li, period, term, y_i, (ln((y_i + a) / (n_i + $prior - y_i - a)) "
        "- ln((total - y_i + a) / ((n_total - n_i) + $prior - (total - y_i) - a))) "
        "/ sqrt(1 / (y_i + a) + 1 / (total - y_i + a)) AS z FROM scored "
        "WHERE (y_i / n_i) / (total / n_total) >= $min_lift AND NOT list_has_all($generic, string_split(term, ' ')))",
        "ranked AS (SELECT *, max(z) OVER (PARTITION BY li, period) AS best, row_number() OVER "
        "(PARTITION BY li, period, contains(term, ' ') ORDER BY z DESC, term DESC) AS rk FROM z)",
    ]
    found = msgs.query("SELECT li, period, term, z, y_i FROM ranked WHERE CASE WHEN contains(term, ' ') "
                       "THEN z >= 0.5 * best AND rk <= $top ELSE rk <= 3 * $top END", *ctes, k=k,
                       min_count=min_count, prior=float(prior), min_lift=float(min_lift), top=top,
                       generic=sorted(GENERIC))
    rows = []
    for (li, per), grp in found.groupby(["li", "period"], sort=True):
        scored = sorted(zip(grp["z"], grp["term"], grp["y_i"]), reverse=True)
        for z, t, y in prefer_phrases(scored, top):
            rows.append({"period": per, "label": msgs.labels[li], "term": t, "z": round(float(z), 2), "count": int(y)})
    return pd.DataFrame(rows, columns=["period", "label", "term", "z", "count"]).sort_values(
        ["label", "period", "z"], ascending=[True, True, False]).reset_index(drop=True)


# ---------------------------------------------------------------- metadata only

def communication_health(msgs: Messages, unanswered_after_days: float = 7.0, k: int = 1,
                         requests_per_pass: int = 100_000) -> pd.DataFrame:
    """From metadata alone: share of cross-team messages, median reply latency (hours) across
    teams vs within a team, and requests left unanswered: neither replied to nor followed, within
    `unanswered_after_days`, by someone else's message in the same thread (in a thread's order
    of time then id, a message's answer is the next one by another author). A figure behind
    which fewer than k distinct authors stand (the period's writers, the replies, the requests)
    is left empty."""
    p = "p AS NOT MATERIALIZED (SELECT * FROM m WHERE period <> '')"
    # a query per figure set, not one for all: DuckDB then holds one join's table at a time
    agg = msgs.query("SELECT period, count(*) AS messages, avg(CASE WHEN author_team IS NOT NULL AND author_team "
                     "<> 'unknown' AND target_team <> '' AND target_team <> author_team THEN 1 ELSE 0 END) "
                     "AS cross_share, count(DISTINCT author) AS writers FROM p GROUP BY period ORDER BY period", p)
    # a median is the mean of the middle one or two values (as in numpy), found by a window,
    # which DuckDB can spill to disk (median() would hold every value in memory)
    replies = msgs.query(
        "SELECT period, avg(latency_h) FILTER (WHERE across AND middle) AS across_h, "
        "avg(latency_h) FILTER (WHERE NOT across AND middle) AS within_h, "
        "count(DISTINCT author) FILTER (WHERE across) AS across_authors, "
        "count(DISTINCT author) FILTER (WHERE NOT across) AS within_authors FROM ranked GROUP BY period", p,
        "replies AS (SELECT r.period, r.author, (epoch_us(r.ts) - epoch_us(q.ts)) / 1000000 / 3600 AS latency_h, "
        "NOT coalesce(r.author_team = q.author_team, false) AS across FROM p r JOIN p q ON r.reply_to = q.id "
        "WHERE r.ts >= q.ts)",
        "ranked AS (SELECT *, row_number() OVER w IN ((count(*) OVER g + 1) // 2, (count(*) OVER g + 2) // 2) "
        "AS middle FROM replies WINDOW g AS (PARTITION BY period, across), w AS (g ORDER BY latency_h))")
    requests = msgs.query("SELECT period, count(*) AS requests, count(DISTINCT author) AS requesters FROM p "
                          "WHERE is_request GROUP BY period", p)
    # answered: replied to, or followed in its thread by someone else's message (then the
    # thread's next message by another author is the answer) within the time allowed; a pass
    # per slice of the requests (by a hash of the id), so that each join's table stays small
    slices = max(1, -(-int(requests["requests"].sum()) // requests_per_pass))
    unanswered = pd.concat([msgs.query(
        "SELECT r.period, count(*) FILTER (WHERE a.id IS NULL) AS unanswered FROM requests r "
        "LEFT JOIN answered a ON a.id = r.id GROUP BY r.period", p,
        "requests AS NOT MATERIALIZED (SELECT * FROM p WHERE is_request AND hash(id) % $slices = $slice)",
        "answered AS (SELECT r.id FROM requests r JOIN p q ON q.reply_to = r.id UNION "
        "SELECT r.id FROM requests r JOIN p y ON y.thread_id = r.thread_id WHERE r.thread_id <> '' "
        "AND (y.ts > r.ts OR (y.ts = r.ts AND y.id > r.id)) AND NOT coalesce(y.author = r.author, false) "
        "AND epoch_us(y.ts) - epoch_us(r.ts) <= $window_us)",
        window_us=float(unanswered_after_days) * 86_400 * 1_000_000, slices=slices, slice=i)
        for i in range(slices)]).groupby("period", as_index=False)["unanswered"].sum()
    for part in (replies, requests, unanswered):
        agg = agg.merge(part, on="period", how="left")
    counts = ["across_authors", "within_authors", "requests", "unanswered", "requesters"]
    agg[counts] = agg[counts].fillna(0).astype("int64")
    out = pd.DataFrame({
        "period": agg["period"], "messages": agg["messages"],
        "cross_team_share": [round(float(v), 4) for v in agg["cross_share"]],
        "median_reply_hours_across": [np.nan if pd.isna(v) else round(float(v), 2) for v in agg["across_h"]],
        "median_reply_hours_within": [np.nan if pd.isna(v) else round(float(v), 2) for v in agg["within_h"]],
        "requests": agg["requests"], "unanswered_requests": agg["unanswered"]},
        columns=["period", "messages", "cross_team_share", "median_reply_hours_across", "median_reply_hours_within",
                 "requests", "unanswered_requests"])
    out["unanswered_share"] = np.where(out["requests"] > 0, out["unanswered_requests"] / out["requests"].clip(lower=1),
                                       np.nan)
    if k <= 1:
        return out
    out = out.astype({c: float for c in ("messages", "requests", "unanswered_requests")})
    hide = {"cross_team_share": agg["writers"] < k, "median_reply_hours_across": agg["across_authors"] < k,
            "median_reply_hours_within": agg["within_authors"] < k, "requests": agg["requesters"] < k}
    hide["messages"] = hide["cross_team_share"]
    hide["unanswered_requests"] = hide["unanswered_share"] = hide["requests"]
    for col, hidden in hide.items():
        out.loc[hidden.to_numpy(), col] = np.nan
    return out


def overview(msgs: Messages) -> dict:
    """The figures over every message: how many, how many carry a label, whether any author has
    a team, how many scores each label has, and per channel (None: no channel) messages and
    flagged messages."""
    scores = "".join(f", count(s{i}) AS s{i}" for i in range(len(msgs.labels)))
    teams = "coalesce(bool_or(coalesce(author_team, 'unknown') <> 'unknown'), false)"
    total = msgs.query(f"SELECT count(*) AS n, count(*) FILTER (WHERE any_flag) AS flagged, {teams} AS teams{scores} "
                       "FROM m")
    r = total.iloc[0]
    channels = msgs.query("SELECT channel, count(*) AS n, count(*) FILTER (WHERE any_flag) AS flagged FROM m "
                          "GROUP BY channel ORDER BY channel")
    return {"n": int(r["n"]), "flagged": int(r["flagged"]), "known_teams": bool(r["teams"]),
            "scores": {lid: int(r[f"s{i}"]) for i, lid in enumerate(msgs.labels)}, "channels": channels}


_REQUEST = re.compile(r"\?|\b(can|could|would) you\b|\bplease\b|\bany update\b|\bneed (you|your)\b|\blet me know\b", re.I)


def is_request(texts: Sequence[str]) -> list[bool]:
    """A message that asks something of someone (a question or a request)."""
    return [bool(_REQUEST.search(t or "")) for t in texts]
