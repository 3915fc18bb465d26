"""Build the report from the results store alone: one self-contained, interactive HTML file, CSV
tables, a Markdown summary and report.json, all rendered from one report model (model.py).
`friction scan` calls this at its end; `friction report` calls it on a store."""

from __future__ import annotations

import html as htmllib
import json
from pathlib import Path

import numpy as np

from ..safe_write import Outputs, SafeWriteError, check_folder, check_target
from ..store import Store
from ..tables import write_csv
from .model import build_model, compute, figures_to_keep, label_name  # noqa: F401  (public: compute, label_name)


def model_json(model: dict) -> str:
    """The model as JSON (numpy numbers as plain ones)."""
    def plain(v):
        if isinstance(v, np.generic):
            return v.item()
        raise TypeError(f"not JSON: {type(v).__name__}")

    return json.dumps(model, ensure_ascii=False, default=plain, allow_nan=False)


def script_json(model: dict) -> str:
    """The model as JSON safe inside <script type="application/json">: '<', '>' and '&' are
    escaped, so no message text ('</script>', '<img onerror=…>') can end the block or be parsed
    as markup; the page reads it with JSON.parse and writes it with textContent only."""
    return (model_json(model).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


REPORT_FILES = ("report.html", "summary.md", "report.json")
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
                 override: bool = False, alpha: float = 0.05) -> dict:
    """Write report.html, summary.md, report.json and tables/*.csv under out_dir, all rendered
    from one report model (figures and suppression worked out once); returns their paths. All
    are written to temporary files first and renamed into place only then, never through a
    symlink. The k used and any override are stated in the report and recorded in the store's
    reports table, with the visible figures the next report compares against."""
    import jinja2
    from markupsafe import Markup

    out_dir = Path(out_dir)
    check_report_target(out_dir)
    model, data = build_model(store, period, min_group, override, alpha)
    paths = {"html": str(out_dir / "report.html"), "markdown": str(out_dir / "summary.md"),
             "json": str(out_dir / "report.json"), "tables": []}
    env = jinja2.Environment(loader=jinja2.PackageLoader("friction.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True))
    html = env.get_template("report.html.j2").render(m=model, data_json=Markup(script_json(model)),
                                                     script=Markup(page_script()), fmt=fmt_value)
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
        outputs.write_text(Path(paths["markdown"]), markdown(model))
        outputs.write_text(Path(paths["json"]), model_json(model))
    store.record_report(period, min_group, override, str(out_dir), figures_to_keep(model))
    return paths


def page_script() -> str:
    """The page's own JavaScript (inline: the file loads nothing)."""
    return (Path(__file__).parent / "templates" / "report.js").read_text(encoding="utf-8")


def fmt_value(v, spec: str = "{:.1f}") -> str:
    """A figure as text, or '–' where it is empty (unknown, or hidden for the group size)."""
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else spec.format(v)


def _md(value) -> str:
    """Text for a Markdown table or list: HTML escaped (a viewer would render it), pipes escaped."""
    return htmllib.escape(str(value), quote=False).replace("|", "\\|").replace("\n", " ")


def markdown(model: dict) -> str:
    """summary.md: the summary, significant changes, each label's rates, reviewed precision, k."""
    names = {lab["id"]: lab["name"] for lab in model["labels"]}
    lines = ["# Friction report", "", *[f"- {_md(s)}" for s in model["summary"]], ""]
    if model["changes"]:
        lines += ["## Significant changes", "", "| label | teams | periods | before | after | q | called |",
                  "|---|---|---|---:|---:|---:|---|"]
        for c in model["changes"]:
            pair = f"{c['author_team']} → {c['target_team']}" if c["author_team"] else "all teams"
            lines.append("| " + " | ".join(_md(x) for x in (names[c["label"]], pair, f"{c['previous']} → {c['period']}",
                                                              fmt_value(c["before"]), fmt_value(c["after"]),
                                                              f"{c['q']:.3g}", c["called"])) + " |")
        lines.append("")
    for lab in model["labels"]:
        lines += [f"## {_md(lab['name'])}", "", "| period | count | messages | per 1,000 | 95% interval |",
                  "|---|---:|---:|---:|---|"]
        for c in (c for c in model["rates"] if c["label"] == lab["id"]):
            row = (c["period"], "hidden", "–", "–", "–") if c["hidden"] else (
                c["period"], c["count"], c["n"], fmt_value(c["rate"]), f"{fmt_value(c['ci_low'])}–{fmt_value(c['ci_high'])}")
            lines.append("| " + " | ".join(_md(x) for x in row) + " |")
        rev = model["reviewed"].get(lab["id"])
        if rev:
            lines += ["", f"Reviewed: of {rev['reviewed']} reviewed items, {rev['right']} were right."]
        if lab["remedies"]:
            lines += ["", "Remedies: " + " ".join(_md(x) for x in lab["remedies"])]
        lines.append("")
    lines += [f"Privacy: {_md(model['k_note'])}. Any cell built from fewer distinct authors is hidden, "
              "whatever its count, and so is any cell that could be worked out from the ones shown.", ""]
    return "\n".join(lines)
