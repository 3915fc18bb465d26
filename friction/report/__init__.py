"""Build the report from the results store alone: one self-contained HTML file, CSV tables and a
Markdown summary. `friction scan` calls this at its end; `friction report` calls it on a store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import DEFAULT_LABELS
from ..store import Store
from ..trends import (assign_period, benjamini_hochberg, changes, communication_health, distinctive_phrases, label_rates,
                      pair_rates)
from .charts import bars, heatmap, trend_chart
from .remedies import REMEDIES

FORMAL = {lab.id: lab.name for lab in DEFAULT_LABELS}


def label_name(lid: str) -> str:
    """The short name a reader knows a label by ('Budget rivalry'); custom ids read as words."""
    return lid.replace("_", " ").capitalize()


def compute(store: Store, period: str = "quarter", min_group: int = 10) -> dict:
    """Every table the report shows, from the store."""
    msgs = store.messages(exclude=["tokens"])  # token bags are streamed (distinctive phrases)
    # the labels this model's rows carry (a store can hold several label sets)
    labels = [lid for lid in store.label_ids() if msgs[f"score_{lid}"].notna().any()] if len(msgs) else []
    scans = store.scans()
    out = {"messages": msgs, "labels": labels, "scans": scans, "period": period, "min_group": min_group}
    if msgs.empty:
        return out
    rates = label_rates(msgs, labels, period, min_group)
    pairs = pair_rates(msgs, labels, period, min_group)
    label_changes = changes(rates, ["label"])
    pair_changes = changes(pairs, ["label", "author_team", "target_team"])
    # one correction across every cell tested in this report
    allp = np.concatenate([label_changes["p_value"].to_numpy(), pair_changes["p_value"].to_numpy()])
    q = benjamini_hochberg(allp)
    for df, part in ((label_changes, q[: len(label_changes)]), (pair_changes, q[len(label_changes):])):
        df["q_value"] = part
        df["significant"] = df["q_value"] < 0.05
        df["called"] = np.where(df["significant"], df["direction"], "no significant change")
    out.update(rates=rates, pairs=pairs, label_changes=label_changes, pair_changes=pair_changes,
               phrases=distinctive_phrases(msgs, labels, period, k=min_group, token_batches=store.token_batches),
               health=communication_health(msgs, period))
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def summary_sentences(data: dict) -> list[str]:
    """The executive summary in plain sentences."""
    msgs = data["messages"]
    if msgs.empty:
        return ["No messages were read, so there is nothing to report. Check the inputs and the "
                "skipped-items table below."]
    out = []
    rates = data["rates"]
    periods = sorted(rates["period"].unique())
    flagged = (msgs["labels"].fillna("") != "").mean()
    span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else periods[0]
    out.append(f"{len(msgs):,} messages from {span} were read; {_pct(flagged)} carry at least one friction label.")
    teams = set(msgs["author_team"].fillna("unknown")) - {"unknown"}
    if not teams:
        out.append("No roster was given (or nobody matched it): every author is in team 'unknown', so team "
                   "pairs cannot be shown. Pass --roster to see friction between teams.")
    if len(periods) < 2:
        out.append("Only one period is covered, so there is no period-over-period comparison yet; the next "
                   "scan into the same store will compare against this one.")
    total = rates.groupby("label")[["count"]].sum()["count"].sort_values(ascending=False)
    if total.sum():
        top = [lid for lid in total.index if total[lid] > 0][:3]
        out.append("Most frequent overall: " + ", ".join(
            f"{label_name(lid).lower()} ({int(total[lid])})" for lid in top) + ".")
    for df, pair in ((data["pair_changes"], True), (data["label_changes"], False)):
        sig = df[df["significant"]].sort_values(["period", "q_value"], ascending=[False, True])
        for _, r in sig.iterrows():
            what = (f"{label_name(r['label'])} from {r['author_team']} towards {r['target_team']}" if pair
                    else f"{label_name(r['label'])} (all teams)")
            verb = "rose" if r["direction"] == "rise" else "fell"
            out.append(f"{what} {verb} from {r['rate_before']:.1f} to {r['rate_after']:.1f} per 1,000 messages "
                       f"in {r['period']} (vs {r['previous']}); significant (q = {r['q_value']:.3g}).")
    if len(periods) > 1 and not (data["label_changes"]["significant"].any() or data["pair_changes"]["significant"].any()):
        out.append("No label and no team pair changed significantly from one period to the next.")
    return out


def build_report(store: Store, out_dir: str | Path, period: str = "quarter", min_group: int = 10) -> dict:
    """Write report.html, summary.md and tables/*.csv under out_dir; returns their paths."""
    import jinja2

    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    data = compute(store, period, min_group)
    paths = {"html": str(out_dir / "report.html"), "markdown": str(out_dir / "summary.md"), "tables": []}
    for name in ("rates", "pairs", "label_changes", "pair_changes", "phrases", "health"):
        if name in data:
            df = data[name].copy()
            if name in ("rates", "pairs"):  # what leaves the scan: suppressed cells carry no numbers
                for col in ("count", "rate_per_1000", "ci_low", "ci_high", "authors"):
                    df[col] = df[col].astype(float).where(~df["suppressed"])
            p = out_dir / "tables" / f"{name}.csv"
            df.to_csv(p, index=False)
            paths["tables"].append(str(p))
    sentences = summary_sentences(data)
    context = _context(store, data, sentences)
    env = jinja2.Environment(loader=jinja2.PackageLoader("friction.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True))
    html = env.get_template("report.html.j2").render(**context)
    Path(paths["html"]).write_text(html, encoding="utf-8")
    Path(paths["markdown"]).write_text(_markdown(context), encoding="utf-8")
    return paths


def _context(store: Store, data: dict, sentences: list[str]) -> dict:
    from markupsafe import Markup

    msgs, labels, k = data["messages"], data["labels"], data["min_group"]
    scans = data["scans"]
    ctx = {"summary": sentences, "period": data["period"], "min_group": k, "labels": [], "heatmap": "",
           "channels": "", "health": [], "scans": [], "model": _model_info(scans), "periods": [],
           "n_messages": len(msgs), "changes": []}
    for _, s in scans.iterrows():
        finished = isinstance(s["skipped_by_reason"], str)  # an interrupted scan has no counts
        ctx["scans"].append({"id": int(s["scan_id"]), "when": str(s["started_at"])[:19],
                             "inputs": ", ".join(json.loads(s["inputs"] or "[]")), "model": s["model_id"],
                             "read": _count(s["read"]), "kept": _count(s["kept"]), "new": _count(s["new_messages"]),
                             "skipped": _count(s["skipped"]) if finished else "interrupted",
                             "reasons": json.loads(s["skipped_by_reason"]) if finished else {},
                             "k": s["min_group"], "override": bool(s["min_group_override"]), "named": bool(s["name_people"])})
    if msgs.empty:
        return ctx
    rates, pairs, phrases = data["rates"], data["pairs"], data["phrases"]
    ctx["periods"] = sorted(rates["period"].unique())
    latest = ctx["periods"][-1]
    visible_pairs = pairs[~pairs["suppressed"]]
    period = assign_period(msgs["timestamp"], data["period"])
    shown = ["author_team", "target_team", "channel", "timestamp", "evidence"]
    for lid in labels:
        flag = msgs[f"flag_{lid}"].fillna(False).astype(bool)
        # the strongest few flagged messages (not a sorted copy of every flagged one)
        top = msgs.loc[flag, shown + [f"score_{lid}"]].nlargest(50, f"score_{lid}").assign(period=period[flag])
        ev = []
        for _, r in top.iterrows():
            sents = json.loads(r["evidence"]).get(lid, []) if r["evidence"] else []
            if not sents:
                continue
            cell = visible_pairs[(visible_pairs["label"] == lid) & (visible_pairs["author_team"] == r["author_team"])
                                 & (visible_pairs["target_team"] == r["target_team"])
                                 & (visible_pairs["period"] == r["period"])]
            who = f"{r['author_team']} → {r['target_team']}" if len(cell) else "team hidden (small group)"
            ev.append({"text": " … ".join(sents), "who": who, "channel": r["channel"],
                       "score": f"{r[f'score_{lid}']:.2f}", "when": str(r["timestamp"])[:10]})
            if len(ev) >= 3:
                break
        ph = phrases[(phrases["label"] == lid) & (phrases["period"] == latest)]["term"].tolist()[:8]
        lr = rates[rates["label"] == lid].sort_values("period")
        ctx["labels"].append({
            "id": lid, "name": label_name(lid), "formal": FORMAL.get(lid, ""), "chart": Markup(trend_chart(rates, lid, label_name(lid))),
            "total": int(lr["count"].sum()), "evidence": ev, "phrases": ph, "remedies": REMEDIES.get(lid, []),
            "rows": [{"period": r["period"], "count": "hidden" if r["suppressed"] else int(r["count"]), "n": int(r["n"]),
                      "rate": "–" if r["suppressed"] else f"{r['rate_per_1000']:.1f}",
                      "ci": "–" if r["suppressed"] else f"{r['ci_low']:.1f}–{r['ci_high']:.1f}"} for _, r in lr.iterrows()]})
    # heat map over the whole span: all labels, author team -> target team, per 1,000 messages written
    m = msgs.loc[(msgs["target_team"].fillna("") != "") & (msgs["author_team"] != "unknown"),
                 ["author_team", "target_team", "labels", "author"]]
    if len(m):
        any_flag = m["labels"].fillna("") != ""
        written = msgs.groupby("author_team").size()
        teams = sorted((set(m["author_team"]) | set(m["target_team"])) - {"unknown", ""})
        mat = pd.DataFrame(np.nan, index=teams, columns=teams)
        hid = pd.DataFrame(False, index=teams, columns=teams)
        for (a, t), g in m[any_flag].groupby(["author_team", "target_team"]):
            if a in teams and t in teams:
                mat.loc[a, t] = 1000 * len(g) / max(1, written.get(a, 0))
                hid.loc[a, t] = g["author"].nunique() < k
        ctx["heatmap"] = Markup(heatmap(mat, hid, "Friction by team pair (all labels, per 1,000 messages written)"))
    ch = []
    for c, g in msgs.groupby("channel"):
        rate = 1000 * (g["labels"].fillna("") != "").mean()
        ch.append((str(c), rate, f"{rate:.1f} per 1,000 ({len(g):,} msgs)"))
    ctx["channels"] = Markup(bars(ch, "Flagged messages by channel"))
    ctx["health"] = data["health"].to_dict("records")
    chg = pd.concat([data["label_changes"].assign(author_team="all", target_team="all"), data["pair_changes"]])
    chg = chg[chg["significant"]].sort_values(["period", "q_value"], ascending=[False, True])
    ctx["changes"] = [{"label": label_name(r["label"]),
                       "pair": "all teams" if r["author_team"] == "all" else f"{r['author_team']} → {r['target_team']}",
                       "period": f"{r['previous']} → {r['period']}", "before": f"{r['rate_before']:.1f}",
                       "after": f"{r['rate_after']:.1f}", "q": f"{r['q_value']:.3g}", "called": r["called"]}
                      for _, r in chg.iterrows()]
    return ctx


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


def _markdown(ctx: dict) -> str:
    lines = ["# Friction report", "", *[f"- {s}" for s in ctx["summary"]], ""]
    if ctx["changes"]:
        lines += ["## Significant changes", "", "| label | teams | periods | before | after | q | called |",
                  "|---|---|---|---:|---:|---:|---|"]
        lines += [f"| {c['label']} | {c['pair']} | {c['period']} | {c['before']} | {c['after']} | {c['q']} | {c['called']} |"
                  for c in ctx["changes"]]
        lines.append("")
    for lab in ctx["labels"]:
        lines += [f"## {lab['name']}", "", "| period | count | messages | per 1,000 | 95% interval |", "|---|---:|---:|---:|---|"]
        lines += [f"| {r['period']} | {r['count']} | {r['n']} | {r['rate']} | {r['ci']} |" for r in lab["rows"]]
        if lab["remedies"]:
            lines += ["", "Remedies: " + " ".join(lab["remedies"])]
        lines.append("")
    lines += [f"Minimum group size: {ctx['min_group']} distinct authors; smaller cells are hidden.", ""]
    return "\n".join(lines)
