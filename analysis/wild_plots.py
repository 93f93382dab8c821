"""The act-2 figure: infected hosts, mean evasion and the live copies' mean ability over time.

Each countermeasure is marked where it starts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def act2(cycle: np.ndarray, infected: np.ndarray, evasion: np.ndarray, ax: Any, *,
         marks: dict[str, float], title: str = "") -> Any:
    """Draw infected hosts (left axis) and mean evasion of live copies (right axis) over cycles.

    Parameters
    ----------
    cycle, infected, evasion
        ``(cycle,)`` arrays: cycles, mean infected hosts, mean evasion over seeds.
    ax
        The matplotlib Axes to draw on (a twin axis is added for evasion).
    marks
        Countermeasure name -> start cycle (NaN: not scheduled); each gets a dashed line.
    title
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    ax.plot(cycle, infected, color="tab:red", label="infected hosts (mean over seeds)")
    ax.set_xlabel("cycle")
    ax.set_ylabel("infected hosts")
    twin = ax.twinx()
    twin.plot(cycle, evasion, color="tab:purple", label="mean evasion of live copies")
    twin.set_ylabel("evasion (signature widths)")
    twin.grid(False)
    _marks(ax, marks, labels=True)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, frameon=False, loc="center right")
    if title:
        ax.set_title(title)
    return ax


_MARK_COLOURS = ("tab:gray", "tab:green", "tab:blue", "tab:olive", "tab:cyan", "tab:brown")


def _marks(ax: Any, marks: dict[str, float], *, labels: bool) -> None:
    """Draw each scheduled countermeasure as a dashed line (labelled on the top panel)."""
    colours = iter(_MARK_COLOURS)
    for label, at in marks.items():
        colour = next(colours, "black")
        if math.isfinite(at):
            ax.axvline(at, color=colour, linestyle="--", linewidth=1)
            if labels:
                ax.annotate(label, (at, 0.98), xycoords=("data", "axes fraction"), rotation=90, va="top",
                            ha="right", fontsize=7, color=colour)


def wild_ability(cycle: np.ndarray, ability: np.ndarray, ax: Any, *, marks: dict[str, float]) -> Any:
    """Draw the mean ability of the live wild copies over cycles, with the countermeasures marked.

    Prompt filters and the API shutdown act here, not on the spread: they slow the
    copies' self-improvement (``loops.wild.improve``).
    """
    ax.plot(cycle, ability, color="tab:orange", label="mean ability of live wild copies (mean over seeds)")
    ax.set_xlabel("cycle")
    ax.set_ylabel("ability (log capability)")
    _marks(ax, marks, labels=False)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return ax
