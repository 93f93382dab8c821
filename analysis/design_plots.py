"""Figures of a design sweep: sensitivity indices, PRIM's peeling trajectory and its box.

Each function takes data and an ``Axes`` and returns the ``Axes``; the
computing is in :mod:`analysis.sensitivity`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def indices(frame: pd.DataFrame, ax: Any, *, title: str) -> Any:
    """Draw one output's indices per parameter, with their 95% intervals.

    ``frame`` holds rows of ``sensitivity.csv`` for one output and cell: Sobol
    (``S1``, ``ST`` with ``*_conf``) or Morris (``mu_star`` with
    ``mu_star_conf``, and ``sigma``).
    """
    y = np.arange(len(frame))
    labels = [str(p).removeprefix("loop.") for p in frame["parameter"]]
    if "ST" in frame:
        for offset, col, colour in ((-0.2, "S1", "#4C72B0"), (0.2, "ST", "#DD8452")):
            ax.barh(y + offset, frame[col].fillna(0.0), height=0.38, xerr=frame[f"{col}_conf"].fillna(0.0),
                    color=colour, label={"S1": "first order S1", "ST": "total ST"}[col],
                    error_kw={"elinewidth": 0.8, "capsize": 2})
        ax.set_xlim(min(-0.05, float(np.nanmin((frame["S1"] - frame["S1_conf"]).to_numpy(float),
                                                initial=0.0))), 1.05)
        ax.set_xlabel("Sobol index (share of variance)")
    else:
        ax.barh(y, frame["mu_star"].fillna(0.0), height=0.6, xerr=frame["mu_star_conf"].fillna(0.0),
                color="#4C72B0", label="mu* (mean |elementary effect|)", error_kw={"capsize": 2})
        ax.scatter(frame["sigma"], y, color="#C44E52", zorder=3, label="sigma (interaction / nonlinearity)")
        ax.set_xlabel("effect of the whole range (output units)")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.axvline(0, color="0.3", lw=0.6)
    return ax


def tradeoff(trajectory: pd.DataFrame, chosen: int, ax: Any, *, title: str) -> Any:
    """Draw PRIM's peeling trajectory (coverage against density) and mark the chosen box."""
    points = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"],
                        cmap="viridis", s=18, zorder=2)
    ax.plot(trajectory["coverage"], trajectory["density"], color="0.7", lw=0.8, zorder=1)
    row = trajectory.iloc[chosen]
    ax.scatter([row["coverage"]], [row["density"]], s=140, facecolors="none", edgecolors="#C44E52",
               linewidths=2, zorder=3, label=f"chosen box (step {chosen})")
    ax.figure.colorbar(points, ax=ax, label="restricted parameters")
    ax.set_xlabel("coverage (share of the cases in the box)")
    ax.set_ylabel("density (share of the box that are cases)")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return ax


def _fraction(p: dict[str, Any], value: float) -> float:
    low, high = float(p["low"]), float(p["high"])
    if p["kind"] == "log":
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    top = high + 1 if p["kind"] == "integer" else high
    return (value - low) / (top - low)


def box_limits(box: pd.DataFrame, parameters: list[dict[str, Any]], ax: Any, *, title: str) -> Any:
    """Draw a box's limits on each parameter as a share of its range (a choice: the values kept)."""
    by_key = {str(r["parameter"]): r for _, r in box.iterrows()}
    for i, p in enumerate(parameters):
        row = by_key[p["key"]]
        colour = "#C44E52" if bool(row["restricted"]) else "0.75"
        if p["kind"] == "choice":
            kept = set(str(row["values"]).split("|")) if str(row["values"]) else set()
            for j, value in enumerate(p["values"]):
                lo, hi = j / len(p["values"]), (j + 1) / len(p["values"])
                ax.barh(i, hi - lo, left=lo, height=0.5, color=colour if value in kept else "white",
                        edgecolor="0.4")
                ax.text((lo + hi) / 2, i, value, ha="center", va="center", fontsize=7)
            continue
        top = p["high"] + 1 if p["kind"] == "integer" else row["high"]
        lo, hi = _fraction(p, float(row["low"])), _fraction(p, float(top))
        ax.barh(i, hi - lo, left=lo, height=0.5, color=colour, edgecolor="0.4")
        ax.text(1.02, i, f"{row['low']:.4g} .. {row['high']:.4g}", va="center", fontsize=7)
    ax.set_yticks(range(len(parameters)), [p["key"].removeprefix("loop.") for p in parameters])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.35)
    ax.set_xticks([0, 0.5, 1], ["low end", "middle", "high end"])
    ax.set_title(title, fontsize=10)
    return ax


def box_scatter(x: pd.DataFrame, y: np.ndarray, names: tuple[str, str], labels: tuple[str, str],
                rect: tuple[float, float, float, float], ax: Any, *, title: str) -> Any:
    """Draw the runs on two parameters, cases of interest in colour, and the box's rectangle on them."""
    from matplotlib.patches import Rectangle

    ax.scatter(x.loc[~y, names[0]], x.loc[~y, names[1]], s=8, color="0.7", label="condition false")
    ax.scatter(x.loc[y, names[0]], x.loc[y, names[1]], s=8, color="#DD8452", label="condition true")
    x0, x1, y0, y1 = rect
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#C44E52", lw=2, label="box"))
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return ax
