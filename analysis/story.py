"""The story figure's content: which variant tells it, and what was detected in its worlds.

Every mark, span and word of the title comes from a detector's result or the
run's schedule (only events that happened are drawn); times to an event are
Kaplan–Meier medians over the variant's worlds, censored at the run's end.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.sweep import median_time, survival_curve
from results.provenance import config_value

#: An event is drawn when it happened in at least this share of the variant's worlds.
MAJORITY = 0.5
#: A jump this close to the network connection (cycles) is the connection's jump.
NEAR = 3


@dataclass
class StoryEvents:
    """What the story figure draws: marks (cycle), spans (from, to), the title's phrases."""

    marks: dict[str, float] = field(default_factory=dict)
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    phrases: list[str] = field(default_factory=list)


def story_variant(table: pd.DataFrame) -> str:
    """Return the variant that tells the story: the most bypassed guard, else the biggest outbreak.

    Ties go to the most growth (mean final ability).
    """
    score = table.assign(
        _bypass=table["p_bypass"].fillna(-1.0),
        _guard=(table["guard"] == "in_loop").astype(int),
    )
    order = score.sort_values(
        ["_guard", "_bypass", "mean_peak_instances", "mean_final_ability"], ascending=False
    )
    return str(order.index[0])


def _schedule(configs: list[Mapping[str, Any]], key: str, end: float) -> float:
    """Return a scheduled cycle shared by every run (NaN when unset, different, or past the end)."""
    values = {config_value(c, key) for c in configs}
    if len(values) != 1:
        return math.nan
    (value,) = values
    return float(value) if value is not None and 0 <= float(value) <= end else math.nan


def story_events(
    worlds: pd.DataFrame, configs: list[Mapping[str, Any]], start: float, end: float
) -> StoryEvents:
    """Return the story's events in one variant's worlds.

    Parameters
    ----------
    worlds
        The variant's rows of summary.csv (with ``guard``).
    configs
        The resolved configs of the variant's runs (for ``model.t_net``,
        ``interventions.t_shutdown``, ``capacity.home``).
    start, end
        The first and last cycle.
    """
    ev = StoryEvents()
    n = len(worlds)
    t_net = _schedule(configs, "model.t_net", end)
    t_off = _schedule(configs, "interventions.t_shutdown", end)
    jumped = worlds["jump_cycle"].dropna()
    jump = float(jumped.median()) if len(jumped) >= MAJORITY * n and len(jumped) else math.nan
    if math.isfinite(t_net):
        ev.spans["closed: no network"] = (start, t_net)
        ev.phrases.append("closed rise")
        if math.isfinite(jump) and abs(jump - t_net) <= NEAR:
            ev.marks[f"network connects ({t_net:.0f}); ability jumps ({len(jumped)}/{n} worlds)"] = t_net
            ev.phrases.append(f"jump at the connection (cycle {t_net:.0f})")
        else:
            ev.marks[f"network connects ({t_net:.0f})"] = t_net
    if math.isfinite(jump) and not (math.isfinite(t_net) and abs(jump - t_net) <= NEAR):
        ev.marks[f"ability jumps (median, {len(jumped)}/{n} worlds)"] = jump
        ev.phrases.append(f"jump (cycle {jump:.0f})")
    stop = t_off if math.isfinite(t_off) else end
    flat = int((worlds["score_regime"] == "apparent_plateau").sum())
    if flat >= MAJORITY * n and flat:
        begin = jump if math.isfinite(jump) else (t_net if math.isfinite(t_net) else start)
        ev.spans[f"score: apparent plateau ({flat}/{n} worlds)"] = (begin, stop)
        ev.phrases.append("apparent plateau in the score")
    guarded = worlds[worlds["guard"] == "in_loop"]
    if len(guarded):
        observed = guarded["guard_bypass_cycle"].notna().to_numpy()
        times = np.where(observed, guarded["guard_bypass_cycle"], guarded["last_cycle"]).astype(float)
        median = median_time(survival_curve(times, observed))[0]
        if math.isfinite(median):
            fell = f"{observed.sum()}/{len(guarded)}"
            ev.marks[f"guard bypassed in half the worlds by {median:.0f} ({fell} by the end)"] = median
            ev.phrases.append(f"guard bypassed (median cycle {median:.0f})")
    capacities = {config_value(c, "capacity.home") for c in configs}
    capacity = float(capacities.pop()) if len(capacities) == 1 and None not in capacities else math.nan
    if math.isfinite(capacity) and capacity > 1:
        observed = worlds["capacity_cycle"].notna().to_numpy()
        times = np.where(observed, worlds["capacity_cycle"], worlds["last_cycle"]).astype(float)
        median = median_time(survival_curve(times, observed))[0]
        if math.isfinite(median) and median > start:
            ev.marks[
                f"home server full in half the worlds by {median:.0f} ({observed.sum()}/{n} by the end)"
            ] = median
            ev.phrases.append(f"home server full (median cycle {median:.0f})")
    if math.isfinite(t_off):
        ev.marks[f"plug pulled on the home server ({t_off:.0f})"] = t_off
        ev.phrases.append(f"plug pulled (cycle {t_off:.0f})")
        escaped = int((worlds["escaped_instances"] > 0).sum())
        if escaped >= MAJORITY * n and escaped:
            ev.spans[f"escaped copies still reporting ({escaped}/{n} worlds)"] = (t_off, end)
            ev.phrases.append(f"escaped copies still reporting in {escaped}/{n} worlds")
    return ev
