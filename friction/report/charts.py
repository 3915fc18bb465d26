"""Small inline-SVG charts: no JavaScript, no external URL, so the report opens offline and can
be mailed. Every text that reaches the SVG is escaped."""

from __future__ import annotations

from html import escape
from typing import Sequence

import numpy as np
import pandas as pd

PALETTE = ["#3b6ea8", "#c8553d", "#4f9d69", "#8e6bbf", "#d49a2a", "#2a9d9d", "#b04a7e", "#6b7a8f"]


def _fmt(v: float) -> str:
    return f"{v:.1f}" if v < 100 else f"{v:.0f}"


def trend_chart(rates: pd.DataFrame, label: str, name: str, width: int = 340, height: int = 170) -> str:
    """Rate per 1,000 by period with 95% interval bars; suppressed periods drawn as gaps."""
    d = rates[rates["label"] == label].sort_values("period")
    if d.empty:
        return ""
    pad_l, pad_r, pad_t, pad_b = 36, 10, 22, 30
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max(1.0, float(np.nanmax(d["ci_high"].where(~d["suppressed"]).fillna(0))) * 1.1)
    n = len(d)
    xs = [pad_l + (w * (i + 0.5) / n) for i in range(n)]
    y = lambda v: pad_t + h - h * (v / top)  # noqa: E731
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(name)} trend">',
             f'<text x="{pad_l}" y="14" class="ct">{escape(name)}</text>']
    for frac in (0, 0.5, 1):
        yy = pad_t + h - h * frac
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>'
                     f'<text x="{pad_l - 4}" y="{yy + 3:.1f}" class="ax" text-anchor="end">{_fmt(top * frac)}</text>')
    pts = []
    for x, (_, r) in zip(xs, d.iterrows()):
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" class="ax" text-anchor="middle">{escape(str(r["period"]))}</text>')
        if r["suppressed"]:
            parts.append(f'<text x="{x:.1f}" y="{pad_t + h / 2:.1f}" class="sup" text-anchor="middle">hidden</text>')
            pts.append(None)
            continue
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(r["ci_low"]):.1f}" y2="{y(r["ci_high"]):.1f}" class="ci"/>')
        pts.append((x, y(r["rate_per_1000"])))
        parts.append(f'<circle cx="{x:.1f}" cy="{y(r["rate_per_1000"]):.1f}" r="3.2" class="pt">'
                     f'<title>{escape(str(r["period"]))}: {_fmt(r["rate_per_1000"])} per 1,000 '
                     f'({_fmt(r["ci_low"])}–{_fmt(r["ci_high"])}), {int(r["count"])} of {int(r["n"])}</title></circle>')
    seg = []
    for p in pts + [None]:
        if p is None:
            if len(seg) > 1:
                parts.append('<polyline class="ln" points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in seg) + '"/>')
            seg = []
        else:
            seg.append(p)
    parts.append("</svg>")
    return "".join(parts)


def heatmap(matrix: pd.DataFrame, suppressed: pd.DataFrame, title: str, cell: int = 46) -> str:
    """Author team (rows) x target team (columns); colour = rate per 1,000; grey = hidden (< k)."""
    if matrix.empty:
        return ""
    rows, cols = list(matrix.index), list(matrix.columns)
    left, top = 130, 110
    width, height = left + cell * len(cols) + 10, top + cell * len(rows) + 10
    values = matrix.to_numpy(dtype=float)
    vmax = max(float(values[np.isfinite(values)].max()) if np.isfinite(values).any() else 1.0, 1e-9)
    parts = [f'<svg class="chart heat" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for j, c in enumerate(cols):
        x = left + cell * j + cell / 2
        parts.append(f'<text transform="translate({x:.0f},{top - 6}) rotate(-45)" class="ax">{escape(str(c))}</text>')
    for i, r in enumerate(rows):
        yy = top + cell * i
        parts.append(f'<text x="{left - 6}" y="{yy + cell / 2 + 4:.0f}" class="ax" text-anchor="end">{escape(str(r))}</text>')
        for j, c in enumerate(cols):
            x = left + cell * j
            v = matrix.loc[r, c]
            hidden = bool(suppressed.loc[r, c]) if (r in suppressed.index and c in suppressed.columns) else False
            if hidden:
                fill, label = "#d9d9d9", "–"
            elif pd.isna(v) or r == c:
                fill, label = "#f4f4f4", ""
            else:
                a = float(v) / vmax
                fill = f"rgba(200,85,61,{0.08 + 0.92 * a:.2f})"
                label = _fmt(float(v))
            tip = "hidden to protect a small group" if hidden else (
                f"{r} → {c}: {label} per 1,000" if label else f"{r} → {c}")
            parts.append(f'<rect x="{x}" y="{yy}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                         f'<title>{escape(tip)}</title></rect>')
            if label:
                parts.append(f'<text x="{x + cell / 2 - 1:.0f}" y="{yy + cell / 2 + 4:.0f}" class="cv" text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bars(values: Sequence[tuple[str, float, str]], title: str, width: int = 420) -> str:
    """Horizontal bars: (name, value, annotation)."""
    if not values:
        return ""
    bar_h, left = 22, 110
    height = 26 + bar_h * len(values)
    vmax = max(v for _, v, _ in values) or 1.0
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="0" y="14" class="ct">{escape(title)}</text>']
    for i, (name, v, note) in enumerate(values):
        yy = 22 + i * bar_h
        w = (width - left - 90) * v / vmax
        parts.append(f'<text x="{left - 6}" y="{yy + 14}" class="ax" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{left}" y="{yy + 3}" width="{w:.1f}" height="{bar_h - 7}" fill="{PALETTE[i % len(PALETTE)]}"/>'
                     f'<text x="{left + w + 4:.1f}" y="{yy + 14}" class="ax">{escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)
