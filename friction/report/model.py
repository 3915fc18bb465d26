"""The report model: every figure, suppression and evidence item of a report, worked out once.

HTML, Markdown, the CSV tables and report.json all render from this one plain dict, so they
cannot disagree, and privacy is applied here only: a hidden cell carries no number at all (not
its count, not its rate, not its interval), whatever its count, in every view built from it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import DEFAULT_LABELS
from ..privacy import DEFAULT_MIN_GROUP
from ..review import reviewed_precision
from ..store import Store
from ..trends import (Messages, benjamini_hochberg, changes, communication_health, complementary_cells,
                      distinctive_phrases, label_rates, overview, pair_matrix, pair_rates, protect_complements)
from .remedies import REMEDIES

DEFAULT_NAMES = {lab.id: lab.name for lab in DEFAULT_LABELS}
#: Evidence items kept per label (the page shows them by cell; more would only grow the file).
EVIDENCE_PER_LABEL = 60
#: Distinctive terms per cell: shown to the reader, and used to measure typicality.
SHOWN_TERMS, TYPICAL_TERMS = 8, 30
#: DuckDB's memory (MB) while it works out a report: its queries spill past this to disk, so
#: the report takes about the same memory for a million messages as for a hundred thousand.
REPORT_MEMORY_MB = 80


def label_name(lid: str) -> str:
    """The short name a reader knows a default label by ('Budget rivalry'); ids read as words."""
    return lid.replace("_", " ").capitalize()


def label_names(scans: pd.DataFrame, labels: list[str]) -> dict[str, dict[str, str]]:
    """Short and formal names per label: the model folder's own names (a custom label set has
    them) over the defaults; an id alone reads as words."""
    named: dict[str, str] = {}
    if not scans.empty:
        cfg = Path(str(scans.iloc[-1]["model_path"] or "")) / "config.json"
        try:
            named = {lab["id"]: lab.get("name", "") for lab in json.loads(cfg.read_text()).get("labels", [])}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            named = {}
    out = {}
    for lid in labels:
        formal = named.get(lid) or DEFAULT_NAMES.get(lid, "")
        # a default label keeps its short name unless the model renamed it
        short = label_name(lid) if not formal or formal == DEFAULT_NAMES.get(lid) else formal
        out[lid] = {"name": short, "formal": formal if formal != short else ""}
    return out


def compute(store: Store, period: str = "quarter", min_group: int = 10, alpha: float = 0.05,
            memory_mb: int = REPORT_MEMORY_MB) -> dict:
    """Every table behind the report, from the store (DataFrames, suppression flags set). Each
    is an aggregate DuckDB works out over the stored messages (see trends.Messages), within
    `memory_mb` MB where it can; only those tables reach Python."""
    with store.memory_limit(memory_mb):
        msgs = Messages.of(store, period)
        totals = overview(msgs)
        # the labels this model scored
        msgs = replace(msgs, labels=tuple(lid for lid in msgs.labels if totals["scores"][lid]))
        labels = list(msgs.labels)
        out = {"messages": msgs, "overview": totals, "labels": labels, "scans": store.scans(), "period": period,
               "min_group": min_group, "alpha": alpha}
        if not totals["n"]:
            return out
        rates, pairs = protect_complements(msgs, label_rates(msgs, min_group), pair_rates(msgs, min_group), min_group)
        label_changes = changes(rates, ["label"], alpha)
        pair_changes = changes(pairs, ["label", "author_team", "target_team"], alpha)
        # one correction across every cell tested in this report (changes() corrects within a table)
        allp = np.concatenate([label_changes["p_value"].to_numpy(), pair_changes["p_value"].to_numpy()])
        q = benjamini_hochberg(allp)
        for df, part in ((label_changes, q[: len(label_changes)]), (pair_changes, q[len(label_changes):])):
            df["q_value"] = part
            df["significant"] = df["q_value"] < alpha
            df["called"] = np.where(df["significant"], df["direction"], "no significant change")
        # 30 terms per cell measure how typical a message is; the first 8 are shown
        phrases = distinctive_phrases(msgs, top=TYPICAL_TERMS, k=min_group)
        shown = set(zip(rates.loc[~rates["suppressed"], "label"], rates.loc[~rates["suppressed"], "period"]))
        keep = np.array([key in shown for key in zip(phrases["label"], phrases["period"])], dtype=bool)
        phrases = phrases.loc[keep].reset_index(drop=True)
        out.update(rates=rates, pairs=pairs, label_changes=label_changes, pair_changes=pair_changes,
                   phrases=phrases.groupby(["label", "period"], sort=False).head(SHOWN_TERMS).reset_index(drop=True),
                   typical_terms=phrases,
                   health=communication_health(msgs, k=min_group),
                   matrix=pair_matrix(msgs, pairs, min_group),
                   channels=channel_cells(msgs, min_group))
        return out


def channel_cells(msgs: Messages, k: int) -> tuple[set, bool]:
    """Channels whose flagged share must be hidden (fewer than k authors, or derivable from the
    overall share), and whether the overall share must be hidden too."""
    rows = "SELECT 0 AS everything, coalesce(channel, 'None') AS channel, author, ts, id FROM m WHERE any_flag"
    cells = complementary_cells(msgs, rows, ["everything"], ["channel"], k)
    return set(cells.loc[cells["hidden"], "channel"]), bool(cells["total_hidden"].any())


def _num(v, digits: int = 1):
    """A JSON-safe rounded number, or None."""
    return None if v is None or pd.isna(v) else round(float(v), digits)


def _cell(r, keys: tuple[str, ...]) -> dict:
    """A rate cell: its keys, and its numbers only when it is visible."""
    out = {k: str(r[k]) for k in keys}
    if r["suppressed"]:
        out["hidden"] = True
        return out
    out.update(hidden=False, count=int(r["count"]), n=int(r["n"]), rate=_num(r["rate_per_1000"]),
               ci_low=_num(r["ci_low"]), ci_high=_num(r["ci_high"]))
    return out


def build_model(store: Store, period: str = "quarter", min_group: int = 10, override: bool = False,
                alpha: float = 0.05, memory_mb: int = REPORT_MEMORY_MB) -> tuple[dict, dict]:
    """(model, tables): the report model (plain, JSON-ready) and the DataFrames behind it."""
    with store.memory_limit(memory_mb):
        data = compute(store, period, min_group, alpha, memory_mb)
        return report_model(store, data, override), data


def report_model(store: Store, data: dict, override: bool = False) -> dict:
    """The report model from compute()'s tables, with the evidence read from the store."""
    period, min_group, alpha = data["period"], data["min_group"], data["alpha"]
    totals, labels, scans = data["overview"], data["labels"], data["scans"]
    names = label_names(scans, labels)
    model = {"k": min_group, "override": override, "period": period, "alpha": alpha, "n_messages": totals["n"],
             "k_note": f"minimum group size {min_group}" + (
                 f" (below 5, by --allow-small-groups; the default is {DEFAULT_MIN_GROUP})" if override
                 else f" (the default is {DEFAULT_MIN_GROUP})" if min_group < DEFAULT_MIN_GROUP else ""),
             "labels": [{"id": lid, **names[lid], "remedies": REMEDIES.get(lid, [])} for lid in labels],
             "periods": [], "rates": [], "pairs": [], "matrix": {"teams": [], "cells": []}, "channels": [],
             "health": [], "changes": [], "evidence": [], "phrases": {}, "teams": [], "channel_names": [],
             "reviewed": _reviewed(store, labels), "previous": None, "scans": _scans(scans), "model": _model_info(scans),
             "flagged_share": None}
    if not totals["n"]:
        model["summary"] = summary_sentences(model, totals["known_teams"])
        return model
    rates, pairs = data["rates"], data["pairs"]
    model["periods"] = sorted(rates["period"].unique())
    model["rates"] = [_cell(r, ("label", "period")) for _, r in rates.sort_values(["label", "period"]).iterrows()]
    # only visible pairs are listed: a listed hidden pair would say that someone there was flagged
    model["pairs"] = [_cell(r, ("label", "period", "author_team", "target_team"))
                      for _, r in pairs[~pairs["suppressed"]].iterrows()]
    mat, hid = data["matrix"]
    model["matrix"] = {"teams": [str(t) for t in mat.index], "cells": [
        {"a": str(a), "t": str(t), "hidden": True} if hid.loc[a, t] else
        {"a": str(a), "t": str(t), "hidden": False, "rate": _num(mat.loc[a, t])}
        for a in mat.index for t in mat.columns if a != t]}
    hidden_channels, total_hidden = data["channels"]
    channels = totals["channels"][totals["channels"]["channel"].notna()]
    for c, n, flagged in zip(channels["channel"], channels["n"], channels["flagged"]):
        model["channels"].append({"channel": str(c), "hidden": True} if str(c) in hidden_channels else {
            "channel": str(c), "hidden": False, "n": int(n), "rate": _num(1000 * (flagged / n))})
    if not total_hidden:
        model["flagged_share"] = _num(100 * (totals["flagged"] / totals["n"]), 1)
    model["health"] = [{k: (None if pd.isna(v) else v) if not isinstance(v, str) else v for k, v in h.items()}
                       for h in data["health"].to_dict("records")]
    for _, r in data["phrases"].iterrows():
        model["phrases"].setdefault(r["label"], {}).setdefault(r["period"], []).append(r["term"])
    chg = pd.concat([data["label_changes"].assign(author_team="", target_team=""), data["pair_changes"]])
    chg = chg[chg["significant"]].sort_values(["period", "q_value"], ascending=[False, True])
    model["changes"] = [{"label": r["label"], "author_team": r["author_team"], "target_team": r["target_team"],
                         "period": r["period"], "previous": r["previous"], "before": _num(r["rate_before"]),
                         "after": _num(r["rate_after"]), "q": float(f"{r['q_value']:.3g}"), "called": r["called"]}
                        for _, r in chg.iterrows()]
    model["evidence"] = evidence_items(store, data)
    model["teams"] = sorted({t for c in model["matrix"]["cells"] for t in (c["a"], c["t"])})
    model["channel_names"] = sorted(str(c) for c in channels["channel"])
    model["previous"] = previous_figures(store.last_report_figures(period), model)
    model["summary"] = summary_sentences(model, totals["known_teams"])
    return model


def evidence_candidates(data: dict, lid: str, limit: int) -> pd.DataFrame:
    """A label's `limit` highest-scoring flagged messages that sit in a cell that is shown: a
    visible team pair, or (no target team) a visible period whose messages without a target come
    from >= k authors; ties in score go to the earlier message. Their keys and score only."""
    msgs, rates, pairs = data["messages"], data["rates"], data["pairs"]
    i = msgs.labels.index(lid)
    pairs = pairs.loc[~pairs["suppressed"] & (pairs["label"] == lid), ["period", "author_team", "target_team"]]
    periods = rates.loc[(rates["label"] == lid) & ~rates["suppressed"], ["period"]]
    return msgs.query(
        f"SELECT m.id, m.period, m.author_team, m.target_team, m.channel, m.s{i} AS score FROM m "
        "LEFT JOIN visible_pairs v ON v.period = m.period AND v.author_team = m.author_team "
        f"AND v.target_team = m.target_team WHERE m.f{i} AND m.s{i} IS NOT NULL AND CASE WHEN m.target_team <> '' "
        "THEN v.period IS NOT NULL ELSE m.period IN (SELECT period FROM open_periods) END "
        f"ORDER BY m.s{i} DESC, m.ts, m.id LIMIT $limit",
        f"open_periods AS (SELECT period FROM m WHERE f{i} AND target_team = '' GROUP BY period "
        "HAVING count(DISTINCT author) >= $k INTERSECT SELECT period FROM visible_periods)",
        tables={"visible_pairs": pairs, "visible_periods": periods}, k=data["min_group"], limit=limit)


def typicality(bags: list[str], terms: list[str]) -> list[float]:
    """How typical each message is of its cell: the share of the cell's distinctive terms (words
    and phrases) that its token bag holds, scaled so the most typical candidate is 1. A loud
    score on an off-topic message ('the rubber ducks on the shelf') ranks below a typical one."""
    if not terms:
        return [0.0] * len(bags)
    want = set(terms)
    raw = []
    for bag in bags:
        words = bag.split()
        have = set(words) | {f"{a} {b}" for a, b in zip(words, words[1:])}
        raw.append(len(want & have) / len(want))
    top = max(raw) if raw else 0.0
    return [r / top if top else 0.0 for r in raw]


def evidence_items(store: Store, data: dict) -> list[dict]:
    """The evidence a reader can open, from visible cells only: each with its neighbouring
    sentences (redacted at scan time), its cell, score and typicality, ranked by both."""
    phrases = data["typical_terms"]
    # a channel whose share is hidden is not named on its evidence either: a team pair, a period
    # and a small channel together can point at a few people
    hidden_channels = data["channels"][0]
    items = []
    for lid in data["labels"]:
        cand = evidence_candidates(data, lid, 4 * EVIDENCE_PER_LABEL)
        text = store.text_columns(cand["id"].tolist(), data["messages"].model_id)
        cand = cand.join(text, on="id")
        cand = cand[cand["evidence"].fillna("") != ""].reset_index(drop=True)
        if cand.empty:
            continue
        typ = np.zeros(len(cand))
        for per, idx in cand.groupby("period").indices.items():
            terms = phrases.loc[(phrases["label"] == lid) & (phrases["period"] == per), "term"].tolist()
            typ[idx] = typicality(cand["tokens"].iloc[idx].fillna("").tolist(), terms)
        cand = cand.assign(typicality=typ, rank=0.6 * cand["score"].to_numpy() + 0.4 * typ)
        kept = 0
        for _, r in cand.sort_values("rank", ascending=False, kind="stable").iterrows():
            sents = json.loads(r["evidence"]).get(lid, [])
            if not sents:
                continue
            ctx = json.loads(r["context"]).get(lid, []) if isinstance(r["context"], str) and r["context"] else []
            # the period, not the day: a day and a channel can point at one meeting or person
            items.append({"id": str(r["id"]), "label": lid, "period": str(r["period"]),
                          "author_team": str(r["author_team"] or "unknown"), "target_team": str(r["target_team"] or ""),
                          "channel": "" if str(r["channel"]) in hidden_channels else str(r["channel"] or ""),
                          "score": _num(r["score"], 2),
                          "typicality": _num(r["typicality"], 2), "text": " … ".join(sents),
                          "parts": in_context(sents, ctx)})
            kept += 1
            if kept >= EVIDENCE_PER_LABEL:
                break
    return items


def in_context(sents: list[str], ctx: list) -> list[list]:
    """The evidence sentences with their neighbours, as [text, is_evidence] parts in reading
    order: each neighbour once, and none that is itself an evidence sentence; a gap between
    two evidence passages reads ' … '."""
    parts: list[list] = []
    shown = set(sents)
    for i, s in enumerate(sents):
        before, after = (ctx[i] if i < len(ctx) and len(ctx[i]) == 2 else ["", ""])
        if i and not (before and parts[-1][0] == before):  # not the next sentence of the message
            parts.append(["…", False])
        if before and before not in shown:
            parts.append([before, False])
            shown.add(before)
        parts.append([s, True])
        if after and after not in shown:
            parts.append([after, False])
            shown.add(after)
    return parts


def _reviewed(store: Store, labels: list[str]) -> dict:
    """Reviewed precision per label, from the reviews the store has recorded."""
    return reviewed_precision(store.reviews(), labels)


def figures_to_keep(model: dict) -> dict:
    """What the next report compares against: this report's visible label rates."""
    return {"k": model["k"], "rates": {f"{c['label']}|{c['period']}": c["rate"] for c in model["rates"]
                                       if not c["hidden"]}}


def previous_figures(prev: dict | None, model: dict) -> dict | None:
    """The previous report's rate for each cell visible in this report too (a cell hidden now stays
    hidden, whatever an earlier report with another k showed)."""
    if not prev:
        return None
    now = {f"{c['label']}|{c['period']}" for c in model["rates"] if not c["hidden"]}
    return {"k": prev.get("k"), "rates": {key: v for key, v in prev.get("rates", {}).items() if key in now}}


def _scans(scans: pd.DataFrame) -> list[dict]:
    out = []
    for _, s in scans.iterrows():
        finished = isinstance(s["skipped_by_reason"], str)  # an interrupted scan has no counts
        out.append({"id": int(s["scan_id"]), "when": str(s["started_at"])[:19],
                    "inputs": ", ".join(json.loads(s["inputs"] or "[]")), "model": s["model_id"],
                    "read": _count(s["read"]), "kept": _count(s["kept"]), "new": _count(s["new_messages"]),
                    "skipped": _count(s["skipped"]) if finished else "interrupted",
                    "reasons": json.loads(s["skipped_by_reason"]) if finished else {},
                    "k": int(s["min_group"]), "override": bool(s["min_group_override"]), "named": bool(s["name_people"])})
    return out


def _count(v) -> str | int:
    return "–" if v is None or pd.isna(v) else int(v)


def _model_info(scans: pd.DataFrame) -> dict:
    if scans.empty:
        return {}
    last = scans.iloc[-1]
    info = {"id": last["model_id"], "path": last["model_path"]}
    metrics = Path(str(last["model_path"])) / "metrics.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())
        test = next((v for k, v in m.items() if k.startswith("test (shipped")), None) or m.get("test")
        if test:
            info.update(macro_f1=f"{test['macro_f1']:.2f}", fpr_none=f"{100 * test['fpr_none']:.1f}%",
                        ece=f"{test.get('ece', float('nan')):.3f}")
    return info


def visible_total(model: dict, label: str) -> int:
    """A label's flagged messages over the periods whose cells are shown (hidden cells are left
    out, or the total would give them away by subtraction)."""
    return sum(c["count"] for c in model["rates"] if c["label"] == label and not c["hidden"])


def summary_sentences(model: dict, known_teams: bool) -> list[str]:
    """The executive summary in plain sentences, from the model's visible figures (and whether
    any author has a team, which a roster gives)."""
    if not model["n_messages"]:
        return ["No messages were read, so there is nothing to report. Check the inputs and the "
                "skipped-items table below."]
    periods = model["periods"]
    names = {lab["id"]: lab["name"] for lab in model["labels"]}
    span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else periods[0]
    share = "" if model["flagged_share"] is None else f"; {model['flagged_share']:.1f}% carry at least one friction label"
    out = [f"{model['n_messages']:,} messages from {span} were read{share}."]
    if not known_teams:
        out.append("No roster was given (or nobody matched it): every author is in team 'unknown', so team "
                   "pairs cannot be shown. Pass --roster to see friction between teams.")
    if len(periods) < 2:
        out.append("Only one period is covered, so there is no period-over-period comparison yet; the next "
                   "scan into the same store will compare against this one.")
    total = sorted(((visible_total(model, lid), lid) for lid in names), key=lambda x: -x[0])
    top = [(n, lid) for n, lid in total if n > 0][:3]
    if top:
        out.append("Most frequent in the cells shown: " + ", ".join(f"{names[lid].lower()} ({n})" for n, lid in top) + ".")
    for c in sorted(model["changes"], key=lambda c: (not c["author_team"],)):
        what = (f"{names[c['label']]} from {c['author_team']} towards {c['target_team']}" if c["author_team"]
                else f"{names[c['label']]} (all teams)")
        verb = "rose" if c["called"] == "rise" else "fell"
        out.append(f"{what} {verb} from {c['before']:.1f} to {c['after']:.1f} per 1,000 messages in {c['period']} "
                   f"(vs {c['previous']}); significant (q = {c['q']:.3g}).")
    if len(periods) > 1 and not model["changes"]:
        out.append("No label and no team pair changed significantly from one period to the next.")
    return out
