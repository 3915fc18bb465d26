"""Build the report from the results store alone: one self-contained HTML file, CSV tables and a
Markdown summary. `friction scan` calls this at its end; `friction report` calls it on a store."""

from __future__ import annotations

import html as htmllib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..labels import DEFAULT_LABELS
from ..privacy import complementary_hidden
from ..safe_write import Outputs, SafeWriteError, check_folder, check_target
from ..store import Store
from ..tables import write_csv
from ..trends import (assign_period, benjamini_hochberg, changes, communication_health, distinctive_phrases, label_rates,
                      pair_matrix, pair_rates, protect_complements)
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
    rates, pairs = protect_complements(msgs, label_rates(msgs, labels, period, min_group),
                                       pair_rates(msgs, labels, period, min_group), labels, period, min_group)
    label_changes = changes(rates, ["label"])
    pair_changes = changes(pairs, ["label", "author_team", "target_team"])
    # one correction across every cell tested in this report
    allp = np.concatenate([label_changes["p_value"].to_numpy(), pair_changes["p_value"].to_numpy()])
    q = benjamini_hochberg(allp)
    for df, part in ((label_changes, q[: len(label_changes)]), (pair_changes, q[len(label_changes):])):
        df["q_value"] = part
        df["significant"] = df["q_value"] < 0.05
        df["called"] = np.where(df["significant"], df["direction"], "no significant change")
    phrases = distinctive_phrases(msgs, labels, period, k=min_group, token_batches=store.token_batches)
    shown = set(zip(rates.loc[~rates["suppressed"], "label"], rates.loc[~rates["suppressed"], "period"]))
    keep = np.array([key in shown for key in zip(phrases["label"], phrases["period"])], dtype=bool)
    phrases = phrases.loc[keep].reset_index(drop=True)
    out.update(rates=rates, pairs=pairs, label_changes=label_changes, pair_changes=pair_changes, phrases=phrases,
               health=communication_health(msgs, period, k=min_group), matrix=pair_matrix(msgs, pairs, labels, period, min_group),
               channels=_channel_cells(msgs, min_group))
    return out


def _channel_cells(msgs: pd.DataFrame, k: int) -> tuple[set, bool]:
    """Channels whose flagged share must be hidden (fewer than k authors, or derivable from the
    overall share), and whether the overall share must be hidden too."""
    flagged = msgs[msgs["labels"].fillna("") != ""]
    return complementary_hidden(flagged["channel"].astype(str), flagged["author"], k)


def visible_total(rates: pd.DataFrame, label: str) -> int:
    """A label's flagged messages over the periods whose cells are shown (hidden cells are left
    out, or the total would give them away by subtraction)."""
    r = rates[(rates["label"] == label) & ~rates["suppressed"]]
    return int(r["count"].sum())


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
    share = "" if data["channels"][1] else f"; {_pct(flagged)} carry at least one friction label"
    out.append(f"{len(msgs):,} messages from {span} were read{share}.")
    teams = set(msgs["author_team"].fillna("unknown")) - {"unknown"}
    if not teams:
        out.append("No roster was given (or nobody matched it): every author is in team 'unknown', so team "
                   "pairs cannot be shown. Pass --roster to see friction between teams.")
    if len(periods) < 2:
        out.append("Only one period is covered, so there is no period-over-period comparison yet; the next "
                   "scan into the same store will compare against this one.")
    total = pd.Series({lid: visible_total(rates, lid) for lid in data["labels"]}, dtype=int).sort_values(
        ascending=False)
    if total.sum():
        top = [lid for lid in total.index if total[lid] > 0][:3]
        out.append("Most frequent in the cells shown: " + ", ".join(
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


REPORT_FILES = ("report.html", "summary.md")
TABLES = ("rates", "pairs", "label_changes", "pair_changes", "phrases", "health")


def check_report_target(out_dir: str | Path) -> None:
    """Everything about the output folder that can be checked before a scan's expensive work:
    a folder we can write into, and no report file that is a folder or a symbolic link."""
    out_dir = Path(out_dir)
    check_folder(out_dir)
    tables = out_dir / "tables"
    if tables.is_symlink():
        raise SafeWriteError(f"{tables}: is a symbolic link; refusing to write through it")
    check_folder(tables)
    for p in [out_dir / f for f in REPORT_FILES] + [tables / f"{t}.csv" for t in TABLES]:
        check_target(p)


def build_report(store: Store, out_dir: str | Path, period: str = "quarter", min_group: int = 10,
                 override: bool = False) -> dict:
    """Write report.html, summary.md and tables/*.csv under out_dir; returns their paths. All are
    written to temporary files first and renamed into place only then, never through a symlink.
    The k used and any override are stated in the report and recorded in the store's reports
    table."""
    import jinja2

    out_dir = Path(out_dir)
    check_report_target(out_dir)
    data = compute(store, period, min_group)
    paths = {"html": str(out_dir / "report.html"), "markdown": str(out_dir / "summary.md"), "tables": []}
    sentences = summary_sentences(data)
    context = _context(store, data, sentences, override)
    env = jinja2.Environment(loader=jinja2.PackageLoader("friction.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True))
    html = env.get_template("report.html.j2").render(**context)
    with Outputs() as outputs:
        for name in TABLES:
            if name in data:
                df = data[name].copy()
                if name in ("rates", "pairs"):  # what leaves the scan: suppressed cells carry no numbers
                    for col in ("count", "n", "rate_per_1000", "ci_low", "ci_high", "authors"):
                        df[col] = df[col].astype(float).where(~df["suppressed"])
                    df["min_group"] = min_group
                if name == "pairs":  # a listed hidden pair would say that someone there was flagged
                    df = df[~df["suppressed"]]
                p = out_dir / "tables" / f"{name}.csv"
                tmp = outputs.path(p)
                try:
                    write_csv(df, tmp)
                except OSError as exc:
                    raise SafeWriteError(f"{p}: cannot write ({exc.strerror or exc})") from None
                paths["tables"].append(str(p))
        outputs.write_text(Path(paths["html"]), html)
        outputs.write_text(Path(paths["markdown"]), _markdown(context))
    store.record_report(period, min_group, override, str(out_dir))
    return paths


def _context(store: Store, data: dict, sentences: list[str], override: bool = False) -> dict:
    from markupsafe import Markup

    from ..privacy import DEFAULT_MIN_GROUP

    msgs, labels, k = data["messages"], data["labels"], data["min_group"]
    scans = data["scans"]
    ctx = {"summary": sentences, "period": data["period"], "min_group": k, "labels": [], "heatmap": "",
           "channels": "", "health": [], "scans": [], "model": _model_info(scans), "periods": [],
           "n_messages": len(msgs), "changes": [], "override": override,
           "k_note": f"minimum group size {k}" + (
               f" (below 5, by --allow-small-groups; the default is {DEFAULT_MIN_GROUP})" if override
               else f" (the default is {DEFAULT_MIN_GROUP})" if k < DEFAULT_MIN_GROUP else "")}
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
    period = assign_period(msgs["timestamp"], data["period"])
    visible_pairs = set(zip(*(pairs.loc[~pairs["suppressed"], c] for c in ("label", "period", "author_team",
                                                                          "target_team"))))
    shown = ["author", "author_team", "target_team", "channel", "evidence"]
    for lid in labels:
        flag = msgs[f"flag_{lid}"].fillna(False).astype(bool)
        visible_rates = set(rates.loc[(rates["label"] == lid) & ~rates["suppressed"], "period"])
        f = msgs.loc[flag, shown + [f"score_{lid}"]].assign(period=period[flag])
        # evidence only from cells that are shown: a visible team pair, or (no target team) a
        # visible period whose messages without a target come from at least k authors
        no_pair = f[f["target_team"].fillna("") == ""]
        open_periods = {per for per, g in no_pair.groupby("period") if g["author"].nunique() >= k} & visible_rates
        ok = [(lid, per, a, t) in visible_pairs if t else per in open_periods
              for per, a, t in zip(f["period"], f["author_team"], f["target_team"].fillna(""))]
        # the strongest few, not a sorted copy of every one
        top = f.loc[np.array(ok, dtype=bool)].nlargest(50, f"score_{lid}")
        ev = []
        for _, r in top.iterrows():
            sents = json.loads(r["evidence"]).get(lid, []) if r["evidence"] else []
            if not sents:
                continue
            who = f"{r['author_team']} → {r['target_team']}" if r["target_team"] else "no target team"
            # the period, not the day: a day and a channel can point at one meeting or person
            ev.append({"text": " … ".join(sents), "who": who, "channel": r["channel"],
                       "score": f"{r[f'score_{lid}']:.2f}", "when": r["period"]})
            if len(ev) >= 3:
                break
        ph = phrases[(phrases["label"] == lid) & (phrases["period"] == latest)]["term"].tolist()[:8]
        lr = rates[rates["label"] == lid].sort_values("period")
        ctx["labels"].append({
            "id": lid, "name": label_name(lid), "formal": FORMAL.get(lid, ""), "chart": Markup(trend_chart(rates, lid, label_name(lid))),
            "total": visible_total(rates, lid), "evidence": ev, "phrases": ph, "remedies": REMEDIES.get(lid, []),
            "rows": [{"period": r["period"], "count": "hidden" if r["suppressed"] else int(r["count"]),
                      "n": "–" if r["suppressed"] else int(r["n"]),
                      "rate": "–" if r["suppressed"] else f"{r['rate_per_1000']:.1f}",
                      "ci": "–" if r["suppressed"] else f"{r['ci_low']:.1f}–{r['ci_high']:.1f}"} for _, r in lr.iterrows()]})
    mat, hid = data["matrix"]
    if len(mat):
        ctx["heatmap"] = Markup(heatmap(mat, hid, "Friction by team pair (all labels, per 1,000 messages written)"))
    ch = []
    hidden_channels = data["channels"][0]
    for c, g in msgs.groupby("channel"):
        if str(c) in hidden_channels:
            ch.append((str(c), 0.0, "hidden"))
            continue
        rate = 1000 * (g["labels"].fillna("") != "").mean()
        ch.append((str(c), rate, f"{rate:.1f} per 1,000 ({len(g):,} msgs)"))
    ctx["channels"] = Markup(bars(ch, "Flagged messages by channel"))
    ctx["health"] = [{"period": h["period"], "messages": _shown(h["messages"], "{:,.0f}"),
                      "cross_team_share": _shown(100 * h["cross_team_share"], "{:.1f}%"),
                      "across": _shown(h["median_reply_hours_across"], "{:g}"),
                      "within": _shown(h["median_reply_hours_within"], "{:g}"),
                      "requests": _shown(h["requests"], "{:,.0f}"),
                      "unanswered": _shown(h["unanswered_requests"], "{:,.0f}")}
                     for h in data["health"].to_dict("records")]
    chg = pd.concat([data["label_changes"].assign(author_team="all", target_team="all"), data["pair_changes"]])
    chg = chg[chg["significant"]].sort_values(["period", "q_value"], ascending=[False, True])
    ctx["changes"] = [{"label": label_name(r["label"]),
                       "pair": "all teams" if r["author_team"] == "all" else f"{r['author_team']} → {r['target_team']}",
                       "period": f"{r['previous']} → {r['period']}", "before": f"{r['rate_before']:.1f}",
                       "after": f"{r['rate_after']:.1f}", "q": f"{r['q_value']:.3g}", "called": r["called"]}
                      for _, r in chg.iterrows()]
    return ctx


def _shown(v, fmt: str) -> str:
    """A figure as text, or '–' where it is empty (unknown, or hidden for the group size)."""
    return "–" if v is None or pd.isna(v) else fmt.format(v)


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


def _md(value) -> str:
    """Text for a Markdown table or list: HTML escaped (a viewer would render it), pipes escaped."""
    return htmllib.escape(str(value), quote=False).replace("|", "\\|").replace("\n", " ")


def _markdown(ctx: dict) -> str:
    lines = ["# Friction report", "", *[f"- {_md(s)}" for s in ctx["summary"]], ""]
    if ctx["changes"]:
        lines += ["## Significant changes", "", "| label | teams | periods | before | after | q | called |",
                  "|---|---|---|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(_md(c[f]) for f in ("label", "pair", "period", "before", "after", "q", "called"))
                  + " |" for c in ctx["changes"]]
        lines.append("")
    for lab in ctx["labels"]:
        lines += [f"## {_md(lab['name'])}", "", "| period | count | messages | per 1,000 | 95% interval |",
                  "|---|---:|---:|---:|---|"]
        lines += ["| " + " | ".join(_md(r[f]) for f in ("period", "count", "n", "rate", "ci")) + " |" for r in lab["rows"]]
        if lab["remedies"]:
            lines += ["", "Remedies: " + " ".join(_md(x) for x in lab["remedies"])]
        lines.append("")
    lines += [f"Privacy: {_md(ctx['k_note'])}. Any cell built from fewer distinct authors is hidden, "
              "whatever its count, and so is any cell that could be worked out from the ones shown.", ""]
    return "\n".join(lines)
