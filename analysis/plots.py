"""Figures. Each function takes data and an ``Axes`` and returns the ``Axes``.

Nothing here computes a metric; ``analysis.summary`` and ``analysis.sweep`` do.
Legends never sit on an axes: :func:`legend_below` puts a figure's shared
legend outside every axes (matplotlib's constrained layout makes room for it).
seaborn and matplotlib are imported inside the functions (they are slow to
import and the command line should stay fast).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Event labels in the story's strip: font size (points) and an estimate of a character's width.
_LABEL_PT = 7.5
_CHAR_EM = 0.55


def styles(variants: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return one line style per variant (colour, dashes), the same in every figure.

    Up to 10 variants get the colour-blind palette; up to 20, ``tab20``'s pairs
    (dark and light of a hue, the light one dashed); beyond, 30 hues of the
    ``husl`` circle at two lightnesses, every third one dashed or dotted, so
    no two of up to 30 variants look alike.
    """
    import seaborn as sns

    n = len(variants)
    if n <= 10:
        colours = sns.color_palette("colorblind", n_colors=max(n, 1))
        dashes = ["-"] * n
    elif n <= 20:
        colours = sns.color_palette("tab20", n_colors=20)[:n]
        dashes = ["-", "--"] * 10
    else:
        dark = sns.husl_palette(math.ceil(n / 2), l=0.45, s=0.9)
        light = sns.husl_palette(math.ceil(n / 2), l=0.7, s=0.9)
        colours = [c for pair in zip(dark, light, strict=True) for c in pair][:n]
        dashes = ["-", "--", ":"] * math.ceil(n / 3)
    return {v: {"color": colours[i], "ls": dashes[i]} for i, v in enumerate(variants)}


def legend_below(fig: Any, handles: Sequence[Any], labels: Sequence[str], *, title: str | None = None) -> Any:
    """Put a shared legend below every axes of ``fig`` (which must use the constrained layout)."""
    width = fig.get_figwidth() * 72 / (_LABEL_PT * _CHAR_EM)
    longest = max((len(label) for label in labels), default=1) + 6
    ncols = int(max(1, min(len(labels), width // longest, 4)))
    return fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=ncols,
        fontsize=_LABEL_PT,
        frameon=False,
        title=title,
        title_fontsize=_LABEL_PT + 0.5,
    )


def legend_rows(labels: Sequence[str], width_in: float) -> int:
    """Return how many rows :func:`legend_below` needs (to size a figure before drawing)."""
    width = width_in * 72 / (_LABEL_PT * _CHAR_EM)
    longest = max((len(label) for label in labels), default=1) + 6
    ncols = int(max(1, min(len(labels), width // longest, 4)))
    return math.ceil(len(labels) / ncols)


def trajectories(
    curves: pd.DataFrame, ax: Any, *, styles: dict[str, dict[str, Any]], ylabel: str, title: str
) -> Any:
    """Draw mean trajectories with 95% bands, one line per variant (legend: :func:`legend_below`)."""
    for variant, group in curves.groupby("variant", sort=False):
        style = styles[variant]
        ax.plot(group["cycle"], group["mean"], label=variant, lw=1.4, **style)
        ax.fill_between(group["cycle"], group["low"], group["high"], color=style["color"], alpha=0.15, lw=0)
    ax.set_xlabel("cycle")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax


def outbreak(curves: pd.DataFrame, ax: Any, *, styles: dict[str, dict[str, Any]]) -> Any:
    """Draw instances alive (home plus external servers) per variant, mean over worlds."""
    for variant, group in curves.groupby("variant", sort=False):
        ax.plot(group["cycle"], group["mean"], label=variant, lw=1.4, **styles[variant])
    ax.set_xlabel("cycle")
    ax.set_ylabel("instances alive (mean over worlds)")
    ax.set_title("Copies: instances on the home and external servers")
    return ax


def survival(
    km: pd.DataFrame,
    ax: Any,
    *,
    styles: dict[str, dict[str, Any]],
    labels: dict[str, str],
    held: str | None,
    end: float,
) -> Any:
    """Draw the guard's Kaplan–Meier curves with their 95% Greenwood bands.

    Only the variants in ``labels`` are drawn, with those legend labels (the
    report draws one of each set of identical curves). ``held``, when given,
    labels one grey line at 1 that stands for every variant whose guard held
    in every world, so those lines do not hide each other.
    """
    for variant, group in km.groupby("variant", sort=False):
        if variant not in labels:
            continue
        style = styles[variant]
        ax.step(group["cycle"], group["survival"], where="post", label=labels[variant], lw=1.4, **style)
        ax.fill_between(
            group["cycle"], group["low"], group["high"], step="post", color=style["color"], alpha=0.15, lw=0
        )
    if held:
        ax.plot([0, end], [1, 1], color="0.45", lw=2.5, alpha=0.6, label=held)
    ax.set_ylim(-0.02, 1.04)
    ax.set_xlim(0, end if end > 0 else 1.0)  # a run of one cycle: one cycle wide, not an empty range
    ax.set_xlabel("cycle")
    ax.set_ylabel("P(guard still in place)")
    ax.set_title("Replication guard survival (Kaplan–Meier, 95% band, censored at run end)")
    return ax


def phase(
    table: pd.DataFrame,
    ax: Any,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    vmax: float = 1.0,
    annotate: bool = True,
    cmap: str = "rocket_r",
) -> Any:
    """Draw one phase diagram as a heatmap (rows ``table.index``, columns ``table.columns``)."""
    import seaborn as sns

    sns.heatmap(
        table.astype(float),
        ax=ax,
        annot=annotate,
        fmt=".2f",
        cmap=cmap,
        vmin=0,
        vmax=vmax,
        cbar=False,
        annot_kws={"fontsize": 7},
        linewidths=0.5,
        linecolor="white",
    )
    ax.set_title(title, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    if max((len(str(c)) for c in table.columns), default=0) * len(table.columns) > 40:
        ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
    return ax


def population(
    cycle: np.ndarray,
    home: np.ndarray,
    external: np.ndarray,
    rows: np.ndarray,
    ax: Any,
    *,
    capacity: float | None = None,
) -> Any:
    """Draw instances (home, external) and result rows over time; returns the twin axes of the rows."""
    ax.plot(cycle, home, color="tab:red", label="instances, home server (mean over worlds)")
    ax.plot(cycle, external, color="tab:purple", label="instances, external servers (mean over worlds)")
    if capacity is not None and math.isfinite(capacity) and capacity > 1:
        ax.axhline(capacity, color="tab:red", lw=0.8, ls=(0, (1, 3)), label=f"home capacity ({capacity:g})")
    ax.set_xlabel("cycle")
    ax.set_ylabel("instances")
    twin = ax.twinx()
    twin.plot(cycle, rows, color="0.4", ls="--", lw=1, label="result rows written per cycle (right axis)")
    twin.set_ylabel("result rows per cycle")
    twin.grid(False)
    return twin


def event_strip(
    ax: Any, marks: dict[str, float], spans: dict[str, tuple[float, float]], xlim: tuple[float, float]
) -> Any:
    """Draw the story's events as labels in a strip above the data: spans below, marks above.

    Labels are horizontal and stacked in lanes so they never cross each other
    or a curve; each mark's label starts at its cycle (or ends there near the
    right edge).
    """
    if not xlim[1] > xlim[0]:  # a run of one cycle: one cycle wide, not an empty range
        xlim = (xlim[0], xlim[0] + 1.0)
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1)
    ax.axis("off")
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    per_cycle = width_pt / max(xlim[1] - xlim[0], 1e-9)
    for label, (a, b) in spans.items():
        ax.axvspan(a, b, ymin=0.01, ymax=0.29, color="tab:green", alpha=0.18, lw=0)
        chars = max(8, int((b - a) * per_cycle / ((_LABEL_PT - 0.5) * _CHAR_EM)) - 2)
        ax.text(
            (a + b) / 2,
            0.15,
            "\n".join(textwrap.wrap(label, chars)[:2]),
            ha="center",
            va="center",
            fontsize=_LABEL_PT - 0.5,
            color="darkgreen",
            linespacing=1.0,
        )
    placed: list[tuple[int, float, float, float]] = []  # lane, start, stop, x
    texts: list[tuple[str, bool]] = []  # label, right-aligned

    def fits(lane: int, start: float, stop: float, x: float) -> bool:
        # No two labels of a lane overlap; no leader line crosses a label below or above it.
        for other, a, b, ox in placed:
            if other == lane and a < stop and start < b:
                return False
            if other < lane and a <= x <= b:
                return False
            if other > lane and start <= ox <= stop:
                return False
        return True

    for label, x in sorted(marks.items(), key=lambda kv: -kv[1]):
        length = len(label) * _LABEL_PT * _CHAR_EM / per_cycle + 2
        right = x + length > xlim[1]
        start, stop = (x - length, x) if right else (x, x + length)
        # Two labels that each cover the other's cycle cannot avoid a crossing: then a new lane on top.
        top = 1 + max((p[0] for p in placed), default=-1)
        lane = next((i for i in range(top) if fits(i, start, stop, x)), top)
        placed.append((lane, start, stop, x))
        texts.append((label, right))
    lane_height = 0.66 / max(3, 1 + max((p[0] for p in placed), default=0))
    for (lane, _, _, x), (label, right) in zip(placed, texts, strict=True):
        y = 0.33 + lane_height * (lane + 0.5)
        ax.plot([x, x], [0.3, y], color="0.3", lw=0.8, ls=":")
        ax.text(
            x,
            y,
            (label + " ") if right else (" " + label),
            ha="right" if right else "left",
            va="center",
            fontsize=_LABEL_PT,
            color="0.15",
        )
    return ax


def story(
    cycle: np.ndarray,
    ability: np.ndarray,
    score: np.ndarray,
    axes: Any,
    *,
    marks: dict[str, float],
    spans: dict[str, tuple[float, float]],
    note: str,
) -> Any:
    """Draw the story's top panel (ability, score) with the detected events; returns the score's axes."""
    top = axes
    top.plot(cycle, ability, color="tab:blue", label="latent ability (mean over working instances, domains)")
    top.set_ylabel("ability (log capability)")
    twin = top.twinx()
    twin.plot(cycle, score, color="tab:orange", label="held-out score (fraction correct, right axis)")
    twin.set_ylabel("held-out score (fraction)")
    twin.set_ylim(0, 1.05)
    twin.grid(False)
    for a, b in spans.values():
        top.axvspan(a, b, color="tab:green", alpha=0.06, lw=0)
    for x in marks.values():
        top.axvline(x, color="0.3", ls=":", lw=1)
    top.set_title(note, fontsize=7.5, loc="left", color="0.25")
    return twin
