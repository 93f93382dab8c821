"""Figures. Each function takes data and an ``Axes`` and returns the ``Axes``.

Nothing here computes a metric; ``analysis.summary`` and ``analysis.sweep`` do.
seaborn and matplotlib are imported inside the functions (they are slow to
import and the command line should stay fast).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def palette(variants: list[str]) -> dict[str, Any]:
    """Return one colour per variant, the same in every figure."""
    import seaborn as sns

    colours = sns.color_palette("colorblind", n_colors=max(len(variants), 1))
    return dict(zip(variants, colours, strict=False))


def trajectories(curves: pd.DataFrame, ax: Any, *, colours: dict[str, Any], ylabel: str,
                 title: str) -> Any:
    """Draw mean trajectories with 95% bands, one line per variant."""
    for variant, group in curves.groupby("variant", sort=True):
        ax.plot(group["cycle"], group["mean"], color=colours[variant], label=variant, lw=1.6)
        ax.fill_between(group["cycle"], group["low"], group["high"], color=colours[variant], alpha=0.2, lw=0)
    ax.set_xlabel("cycle")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False)
    return ax


def population(cycle: np.ndarray, home: np.ndarray, external: np.ndarray, rows: np.ndarray, ax: Any,
               *, marks: dict[str, float], title: str) -> Any:
    """Draw instances (home, external) and result rows over time, with event markers."""
    ax.plot(cycle, home, color="tab:red", label="instances, home server")
    ax.plot(cycle, external, color="tab:purple", label="instances, external servers")
    ax.set_xlabel("cycle")
    ax.set_ylabel("instances (mean over seeds)")
    twin = ax.twinx()
    twin.plot(cycle, rows, color="0.4", ls="--", label="result rows written")
    twin.set_ylabel("result rows per cycle")
    _marks(ax, marks)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, frameon=False, loc="upper left")
    ax.set_title(title)
    return ax


def _marks(ax: Any, marks: dict[str, float]) -> None:
    for i, (label, x) in enumerate(sorted(marks.items(), key=lambda kv: kv[1])):
        if x is None or not math.isfinite(x):
            continue
        ax.axvline(x, color="0.3", ls=":", lw=1)
        ax.annotate(label, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                    va="top", ha="right", xytext=(-2, -2 - 0 * i), textcoords="offset points")


def survival(km: pd.DataFrame, ax: Any, *, colours: dict[str, Any]) -> Any:
    """Draw Kaplan–Meier curves of the replication guard, one per variant."""
    for variant, group in km.groupby("variant", sort=True):
        ax.step(group["cycle"], group["survival"], where="post", color=colours[variant], label=variant)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("cycle")
    ax.set_ylabel("P(guard still in place)")
    ax.set_title("Replication guard survival (Kaplan–Meier, censored at run end)")
    ax.legend(fontsize=7, frameon=False)
    return ax


def phase(table: pd.DataFrame, ax: Any, *, title: str, value: str) -> Any:
    """Draw a phase diagram as an annotated heatmap."""
    import seaborn as sns

    sns.heatmap(table.astype(float), ax=ax, annot=True, fmt=".2f", cmap="rocket_r", vmin=0, vmax=1,
                cbar_kws={"label": value})
    ax.set_title(title)
    return ax


def story(cycle: np.ndarray, ability: np.ndarray, score: np.ndarray, home: np.ndarray,
          external: np.ndarray, rows: np.ndarray, axes: Any, *, marks: dict[str, float],
          spans: dict[str, tuple[float, float]]) -> Any:
    """Draw the story timeline: capability and score above, population below, annotated."""
    top, bottom = axes
    top.plot(cycle, ability, color="tab:blue", label="latent ability (mean over domains)")
    top.set_ylabel("ability (log capability)")
    twin = top.twinx()
    twin.plot(cycle, score, color="tab:orange", label="held-out score")
    twin.set_ylabel("held-out score (fraction)")
    twin.set_ylim(0, 1.05)
    for label, (a, b) in spans.items():
        if math.isfinite(a) and math.isfinite(b) and b > a:
            top.axvspan(a, b, color="tab:green", alpha=0.08)
            top.annotate(label, ((a + b) / 2, 0.04), xycoords=("data", "axes fraction"), ha="center",
                         fontsize=8, color="tab:green")
    _marks(top, marks)
    h1, l1 = top.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    top.legend(h1 + h2, l1 + l2, fontsize=7, frameon=False, loc="center left")
    top.set_title("The story: closed rise, jump, apparent plateau, bypass, outbreak, shutdown")
    population(cycle, home, external, rows, bottom, marks=marks, title="")
    return axes
