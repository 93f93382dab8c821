"""``report.html``: one static page that opens from its folder and holds up at any width.

Tables sit in boxes that scroll sideways, long cells wrap, images scale to the
page; every figure has a caption saying what to look for, and every CSV the
report wrote is linked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import pandas as pd

STYLE = (
    "body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222;"
    "line-height:1.4}"
    ".scroll{overflow-x:auto;max-width:100%;margin:0.5em 0 1.5em}"
    "table{border-collapse:collapse;font-size:12px}"
    "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
    "td{max-width:28em;overflow-wrap:break-word}"
    "th{background:#f4f4f4;text-align:left}"
    "img{max-width:100%;height:auto}figure{margin:1.5em 0}"
    "figcaption{color:#444;font-size:13px;max-width:60em}"
    "code{overflow-wrap:anywhere}p{overflow-wrap:anywhere}"
)

#: What a regime name means and which growth law it is (analysis.growth.LAWS).
REGIMES = (
    ("plateau", "saturating (logistic)", "approaches a ceiling: the gain left is below the minimum effect"),
    (
        "apparent_plateau",
        "any, flat window",
        "looks flat, but growth is sustained (the rate does not decay to zero)",
    ),
    ("polynomial", "power", "C grows like a power of time (r < 1 in the deterministic limit)"),
    ("exponential", "exponential", "C grows exponentially (r = 1)"),
    ("takeoff", "hyperbolic", "finite-time singularity ahead (r > 1); blowup_cycle estimates it"),
)


def _number(x: object) -> str:
    if isinstance(x, float):
        if not math.isfinite(x):
            return ""
        text = f"{x:.3g}"
        return "0" if text in ("-0", "-0.0") else text
    return str(x)


def table_html(frame: pd.DataFrame, *, index: bool = True) -> str:
    """Return a table in a box that scrolls sideways (never wider than the page)."""
    body = frame.to_html(
        index=index, na_rep="", formatters={c: _number for c in frame.columns}, border=0, escape=True
    )
    return f"<div class='scroll'>{body}</div>"


def render(
    *,
    header: Sequence[str],
    text: Sequence[str],
    figures: Mapping[str, str],
    table: pd.DataFrame,
    columns: pd.DataFrame,
    csvs: Mapping[str, str],
    failures: pd.DataFrame | None,
) -> str:
    """Return the page's HTML.

    Parameters
    ----------
    header
        First lines (store, provenance, what was analysed and left out).
    text
        The summary's lines.
    figures
        File name -> caption, in order.
    table
        The per-variant table.
    columns
        ``columns.csv`` (file, column, unit, meaning).
    csvs
        CSV file name -> what it holds.
    failures
        Runs left out (failed, damaged, incomplete, missing), if any.
    """
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>takeoff report</title><style>{STYLE}</style></head><body>",
        "<h1>takeoff report</h1>",
        *(f"<p>{line}</p>" for line in header),
        "<h2>Summary</h2>",
        *(f"<p>{esc(line)}</p>" for line in text),
    ]
    for name, caption in figures.items():
        parts.append(
            f"<figure><a href='{esc(name)}'><img src='{esc(name)}' alt='{esc(caption)}'></a>"
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    parts += ["<h2>Per variant</h2>", table_html(table)]
    parts += [
        "<h2>Regimes and growth laws</h2>",
        "<p>Regimes are judged on capability C = exp(ability) after the largest jump; each is the "
        "law that fits best (AIC) or a flat trailing window.</p>",
        table_html(pd.DataFrame(REGIMES, columns=["regime", "growth law", "what it means"]), index=False),
    ]
    if failures is not None and len(failures):
        parts += ["<h2>Runs left out</h2>", table_html(failures, index=False)]
    parts += ["<h2>Columns</h2>", table_html(columns, index=False), "<h2>Files</h2><ul>"]
    parts += [f"<li><a href='{esc(name)}'>{esc(name)}</a>: {esc(what)}</li>" for name, what in csvs.items()]
    parts.append("</ul></body></html>")
    return "\n".join(parts)
