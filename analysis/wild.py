"""The wild's per-world columns and per-variant figures (model v2, DESIGN section 2b).

``peak_infected``: most hosts infected at once. ``final_size``: hosts ever
infected over ``wild.hosts``. ``contained_cycle``: the first cycle from which
``copies_wild`` stays 0 (NaN if it never does). ``evasion_gain``: mean evasion
at the end minus at ``countermeasures.t_detect`` (NaN without detectors).
``ability_gain_wild``: mean ability of the live wild copies at the last cycle
they were alive minus at the wild's first cycle (what self-improvement gained
in the wild; ``loops.wild.improve``).
All are NaN when the wild is off. Per variant, ``p_contained`` is the share
of worlds with a wild that contained it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from results import schema
from results.provenance import config_value

#: Per-world columns of the wild, in order.
WILD_COLUMNS = ("peak_infected", "final_size", "contained_cycle", "evasion_gain", "ability_gain_wild")
#: Variables they read.
WILD_VARIABLES = (schema.HOSTS_INFECTED, schema.HOSTS_EVER_INFECTED, schema.COPIES_WILD, schema.EVASION_MEAN,
                  schema.ABILITY_WILD)


def wild_enabled(config: Mapping[str, Any]) -> bool:
    """Return True if a run's resolved config has the wild on."""
    return bool(config_value(config, "wild.enabled", False))


def contained_cycle(t: np.ndarray, copies: np.ndarray) -> float:
    """Return the first cycle from which ``copies`` stays 0 (NaN if never, or no wild).

    Examples
    --------
    >>> contained_cycle(np.arange(5.0), np.array([np.nan, 3, 0, 1, 0]))
    4.0
    >>> contained_cycle(np.arange(3.0), np.array([np.nan, 3, 1]))
    nan
    """
    ok = np.isfinite(copies)
    if not ok.any() or copies[ok][-1] > 0:
        return math.nan
    live = np.flatnonzero(ok & (copies > 0))
    after = np.flatnonzero(ok)
    first = after[0] if live.size == 0 else after[after > live[-1]][0]
    return float(t[first])


def _last(y: np.ndarray) -> float:
    ok = np.isfinite(y)
    return float(y[ok][-1]) if ok.any() else math.nan


def _first(y: np.ndarray) -> float:
    ok = np.isfinite(y)
    return float(y[ok][0]) if ok.any() else math.nan


def wild_row(w: xr.Dataset | Mapping[str, Any], t: np.ndarray, config: Mapping[str, Any]) -> dict[str, float]:
    """Return one world's wild columns from its ``(cycle,)`` variables and the run's config."""
    if not all(name in w for name in WILD_VARIABLES):  # the wild is off (its variables not read)
        return dict.fromkeys(WILD_COLUMNS, math.nan)
    infected = w[schema.HOSTS_INFECTED].values.astype(float)
    evasion = w[schema.EVASION_MEAN].values.astype(float)
    ability = w[schema.ABILITY_WILD].values.astype(float)
    hosts = float(config_value(config, "wild.hosts", math.nan) or math.nan)
    t_detect = config_value(config, "countermeasures.t_detect", None)
    gain = math.nan
    if t_detect is not None:
        at = np.flatnonzero(t >= float(t_detect))
        if at.size:
            gain = _last(evasion) - float(evasion[at[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "peak_infected": float(np.nanmax(infected)) if np.isfinite(infected).any() else math.nan,
            "final_size": _last(w[schema.HOSTS_EVER_INFECTED].values.astype(float)) / hosts,
            "contained_cycle": contained_cycle(t, w[schema.COPIES_WILD].values.astype(float)),
            "evasion_gain": gain,
            "ability_gain_wild": _last(ability) - _first(ability),
        }


def wild_variant_columns(group: pd.DataFrame) -> dict[str, float]:
    """Return a variant's wild figures: ``p_contained``, mean final size, peak and evasion gain.

    ``p_contained`` counts the worlds that had a wild (a finite ``final_size``); NaN when none had one.
    """
    if "final_size" not in group:
        return {}
    wild = group[np.isfinite(group["final_size"].astype(float))]
    if wild.empty:
        return dict.fromkeys(("p_contained", "mean_final_size", "mean_peak_infected", "mean_evasion_gain",
                              "mean_ability_gain_wild"), math.nan)
    return {
        "p_contained": float(wild["contained_cycle"].notna().mean()),
        "mean_final_size": float(wild["final_size"].mean()),
        "mean_peak_infected": float(wild["peak_infected"].mean()),
        "mean_evasion_gain": float(wild["evasion_gain"].mean()),
        "mean_ability_gain_wild": float(wild["ability_gain_wild"].mean()),
    }


#: The countermeasures' schedule keys and how the act-2 figure labels them (with the escape).
SCHEDULE = {
    "interventions.t_shutdown": "plug pulled (escape)",
    "countermeasures.t_detect": "detectors",
    "countermeasures.t_clean": "cleaning",
    "countermeasures.t_hunt": "hunter",
    "countermeasures.t_filter": "prompt filters",
    "countermeasures.t_api_off": "APIs off",
}


def countermeasure_marks(config: Mapping[str, Any]) -> dict[str, float]:
    """Return each scheduled countermeasure's label and start cycle (NaN: never) from a run's config."""
    marks = {}
    for key, label in SCHEDULE.items():
        at = config_value(config, key, None)
        if key == "interventions.t_shutdown" and not config_value(config, "wild.from_escape", False):
            continue
        marks[label] = float(at) if at is not None else math.nan
    return marks


def wild_run(summary: pd.DataFrame) -> str | None:
    """Return the run id of the wild run with the largest mean peak of infected hosts (None: no wild)."""
    if "peak_infected" not in summary:
        return None
    peaks = summary.groupby("run_id")["peak_infected"].mean().dropna()
    return None if peaks.empty else str(peaks.idxmax())
