"""The analysis of one run's worlds: the per-world summary columns, computed where the run is made.

A job calls :func:`analyse_worlds` right after simulating a run and stores the
result with it, so the report reads small per-world tables instead of
trajectories. :func:`analysis_digest` names the analysis code, so a result
computed by older code is visible as stale.
"""

from __future__ import annotations

import functools
import hashlib
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from analysis import events
from analysis.growth import MIN_EFFECT, classify
from analysis.wild import WILD_COLUMNS, WILD_VARIABLES, wild_enabled, wild_row
from results import schema
from results.provenance import config_value

#: Per-world columns (summary.csv's without run and variant), in order.
WORLD_COLUMNS = (
    "regime",
    "score_regime",
    "blowup_cycle",
    "blowup_low",
    "blowup_high",
    "jump_cycle",
    "jump_size",
    "guard_bypass_cycle",
    "capacity_cycle",
    "peak_instances",
    "escaped_instances",
    "goodhart_gap",
    "final_ability",
    "final_score",
    "rows_growth",
    "crashed_fraction",
    "rollbacks",
    "diverged_cycle",
    "last_cycle",
) + WILD_COLUMNS
#: The categorical columns (strings); every other column is a float.
CATEGORICAL = ("regime", "score_regime")
#: Variables a world's analysis reads (domain variables are averaged over domains).
DOMAIN_MEANS = (schema.ABILITY, schema.SCORE, schema.PROXY_SCORE)
PER_WORLD = (
    schema.INSTANCES,
    schema.INSTANCES_EXTERNAL,
    schema.GUARD_PATCHES,
    schema.RESULTS_ROWS,
    schema.CRASHED,
    schema.ROLLBACKS,
    schema.GUARD_INTACT,
    schema.DIVERGED_CYCLE,
)
#: The curves the report draws; a job keeps their moments over seeds per run (:func:`run_curves`).
CURVES = (schema.ABILITY, schema.SCORE, schema.INSTANCES, schema.INSTANCES_EXTERNAL, schema.RESULTS_ROWS,
          schema.GUARD_INTACT, schema.HOSTS_INFECTED, schema.EVASION_MEAN, schema.ABILITY_WILD)
#: Suffixes of a curve's moments over the seeds of a run: mean, standard deviation (ddof 0), worlds counted.
MOMENTS = ("_mean", "_sd", "_n")
#: Modules whose source decides a world's analysis (their digest is :func:`analysis_digest`).
_SOURCES = ("growth.py", "fits.py", "events.py", "world.py", "wild.py")


@functools.cache
def analysis_digest() -> str:
    """Return a short hex digest of the analysis code (the modules that compute a world's row).

    Read once per process (a job analyses many runs; the code does not change under it).

    Examples
    --------
    >>> len(analysis_digest())
    16
    """
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _SOURCES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def reduce_domains(ds: xr.Dataset, *, wild: bool = False) -> xr.Dataset:
    """Return the variables a world's analysis reads, averaged over domains, loaded.

    The wild's variables are read only for a run with the wild on (``wild``): a
    v1 run's are all NaN, and reading them would slow every report.
    """
    out = {
        name: ds[name].mean(schema.DOMAIN) if schema.DOMAIN in ds[name].dims else ds[name]
        for name in DOMAIN_MEANS
    }
    out |= {name: ds[name] for name in PER_WORLD}
    if wild:
        out |= {name: ds[name] for name in WILD_VARIABLES}
    return xr.Dataset(out).compute()


def analyse_worlds(ds: xr.Dataset, config: Mapping[str, Any], *,
                   min_effect: float = MIN_EFFECT) -> xr.Dataset:
    """Return each world's summary columns of one run.

    Parameters
    ----------
    ds
        One run (dims ``seed``, ``cycle``, ``domain``; schema v1 variables, as
        :func:`results.schema.run_dataset` makes them). Already averaged over
        domains is fine too.
    config
        The run's resolved config: ``capacity.home`` (without it the run's peak
        home instances stand in).
    min_effect
        The plateau rule's minimum effect in ``ln C`` (``takeoff-report
        --min-effect``; jobs analyse with the default :data:`analysis.growth.MIN_EFFECT`).

    Returns
    -------
    xarray.Dataset
        Along ``seed``: :data:`WORLD_COLUMNS`, categorical ones as strings,
        the others as float64; attribute ``analysis_digest``.
    """
    loaded = _reduced(ds, wild=wild_enabled(config))
    return xr.Dataset(
        {name: (schema.SEED, values) for name, values in _columns(loaded, config, min_effect).items()},
        coords={schema.SEED: loaded.seed.astype(np.int64)},
        attrs={"analysis_digest": analysis_digest()},
    )


def stored_parts(ds: xr.Dataset, config: Mapping[str, Any], *,
                 min_effect: float = MIN_EFFECT) -> dict[str, Any]:
    """Return what a job keeps with a run besides its trajectory (:class:`results.RunRecord`'s fields).

    ``analysis``: :func:`analyse_worlds`'s per-world table without coordinates or
    attributes (the store keeps its own); ``curves``: the curve moments; ``info``:
    the digest of the analysis code that made them. ``takeoff-report --reanalyse``
    computes the same with another ``min_effect``.
    """
    loaded = _reduced(ds, wild=wild_enabled(config))
    columns = _columns(loaded, config, min_effect)
    analysis = _data_vars({name: ((schema.SEED,), values, {}) for name, values in columns.items()})
    return {"analysis": analysis, "curves": _curve_moments(loaded),
            "info": {"analysis_digest": analysis_digest()}}


@dataclass(frozen=True)
class _Reduced:
    """:func:`reduce_domains`'s result as numpy arrays: what a run's analysis reads, without xarray's cost."""

    cycle: np.ndarray
    seed: np.ndarray
    #: ``(seed, cycle)`` or ``(seed,)`` values by name, in :func:`reduce_domains`'s order.
    arrays: dict[str, np.ndarray]
    units: dict[str, str]


def _reduced(ds: xr.Dataset, *, wild: bool = False) -> _Reduced:
    """Return :func:`reduce_domains` of ``ds`` (the same values, bit for bit) as a :class:`_Reduced`.

    A domain mean is numpy's ``nanmean`` (xarray's ``mean`` over ``domain``
    with NaN skipped); every variable keeps its units.
    """
    names = [*DOMAIN_MEANS, *PER_WORLD, *(WILD_VARIABLES if wild else ())]
    arrays: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name in names:
        var = ds[name]
        if name in DOMAIN_MEANS and schema.DOMAIN in var.dims:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a world with no working instance
                arrays[name] = np.nanmean(np.asarray(var.values), axis=var.dims.index(schema.DOMAIN))
        else:
            arrays[name] = np.asarray(var.values)
        units[name] = str(var.attrs.get("units", ""))
    return _Reduced(np.asarray(ds[schema.CYCLE].values), np.asarray(ds[schema.SEED].values), arrays, units)


def _as_reduced(loaded: xr.Dataset) -> _Reduced:
    """Return :func:`reduce_domains`'s result as a :class:`_Reduced`."""
    return _Reduced(loaded[schema.CYCLE].values, loaded[schema.SEED].values,
                    {str(name): var.values for name, var in loaded.data_vars.items()},
                    {str(name): str(var.attrs.get("units", "")) for name, var in loaded.data_vars.items()})


class _Values:
    """One world's values of a variable, read as ``w[name].values`` (what :func:`world_row` reads)."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values


class _World(Mapping[str, _Values]):
    """World ``s`` of a reduced run: ``loaded.isel(seed=s)`` for :func:`world_row`, without xarray's cost."""

    def __init__(self, arrays: Mapping[str, np.ndarray], s: int) -> None:
        self.arrays, self.s = arrays, s

    def __getitem__(self, name: str) -> _Values:
        return _Values(self.arrays[name][self.s])

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)


def _columns(loaded: _Reduced, config: Mapping[str, Any], min_effect: float) -> dict[str, np.ndarray]:
    """Return :data:`WORLD_COLUMNS` of every world (along ``seed``): strings or float64."""
    t = loaded.cycle.astype(float)
    instances = loaded.arrays[schema.INSTANCES]
    capacity = float(config_value(config, "capacity.home",
                                  np.nanmax(instances) if instances.size else math.nan))
    arrays = loaded.arrays
    worlds = [_World(arrays, s) for s in range(len(loaded.seed))]
    rows = [world_row(w, t, capacity, min_effect=min_effect) | wild_row(w, t, config) for w in worlds]
    return {name: np.array([r[name] for r in rows], dtype=str if name in CATEGORICAL else float)
            for name in WORLD_COLUMNS}


def _data_vars(variables: Mapping[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]) -> xr.Dataset:
    """Return a Dataset of these data variables (dims, numpy values, attributes): no coordinate.

    Built with xarray's direct constructor (internal, as :func:`results.run_dataset`
    builds a run), which merges and checks nothing: a job builds two of these a
    run, and the public constructor took 1.2 ms for the 24 analysis columns and
    1.6 ms for 18 curve moments, ~15% of a story run's analysis. The values are
    numpy arrays of the dims' lengths, so there is nothing to merge or convert;
    ``tests/analysis/test_world.py`` holds the result identical to the public build.
    """
    built = {name: xr.Variable(dims, values, attrs, fastpath=True)
             for name, (dims, values, attrs) in variables.items()}
    return xr.Dataset._construct_direct(built, set())


def curve_moments(loaded: xr.Dataset) -> xr.Dataset:
    """Return the moments over seeds of each curve in ``loaded`` (float32, along ``cycle``).

    ``loaded`` is one run as :func:`reduce_domains` returns it. For each of
    :data:`CURVES` present: ``<curve>_mean``, ``<curve>_sd`` (ddof 0) and
    ``<curve>_n`` (worlds with a finite value); NaN is left out, so the sums a
    report pools over many runs' worlds follow from these exactly.
    """
    return _curve_moments(_as_reduced(loaded))


def _curve_moments(loaded: _Reduced) -> xr.Dataset:
    out = {}
    for name in CURVES:
        if name not in loaded.arrays:
            continue
        values = np.asarray(loaded.arrays[name], dtype=np.float64)
        finite = np.isfinite(values)
        n = finite.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(finite, values, 0.0).sum(axis=0) / n
            sd = np.sqrt(np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / n)
        units = loaded.units[name]
        for suffix, value, what in (("_mean", mean, "mean over seeds"),
                                    ("_sd", sd, "standard deviation over seeds"),
                                    ("_n", n, "worlds with a value")):
            out[name + suffix] = ((schema.CYCLE,), value.astype(np.float32),
                                  {"long_name": f"{what} of {name}",
                                   "units": "1" if suffix == "_n" else units})
    return _data_vars(out)


def run_curves(ds: xr.Dataset, config: Mapping[str, Any]) -> xr.Dataset:
    """Return one run's :func:`curve_moments` (``ds`` as :func:`analyse_worlds` takes it)."""
    return _curve_moments(_reduced(ds, wild=wild_enabled(config)))


def world_row(
    w: xr.Dataset | Mapping[str, Any], t: np.ndarray, capacity: float, *, min_effect: float = MIN_EFFECT
) -> dict[str, Any]:
    """Return one world's columns from its domain-averaged variables (``(cycle,)`` each).

    ``w`` is one world of :func:`reduce_domains`'s result (``w[name].values``).
    """
    theta = w[schema.ABILITY].values.astype(float)
    score = w[schema.SCORE].values.astype(float)
    diverged = int(w[schema.DIVERGED_CYCLE].values)
    jump_cycle, jump_size = events.jump(t, theta)
    # The regime describes the dynamics after the largest jump (e.g. the network
    # connection), when enough of the trajectory is left to judge it.
    after = (
        t >= jump_cycle
        if np.isfinite(jump_cycle) and ((t >= jump_cycle) & np.isfinite(theta)).sum() >= 20
        else np.ones_like(t, bool)
    )
    regime = classify(t[after], theta[after], diverged=diverged >= 0, min_effect=min_effect)
    with np.errstate(divide="ignore", invalid="ignore"):
        score_regime = classify(t[after], np.log(np.clip(score[after], 1e-6, None)), min_effect=min_effect)
    total = np.nan_to_num(w[schema.INSTANCES].values) + np.nan_to_num(w[schema.INSTANCES_EXTERNAL].values)
    rows = w[schema.RESULTS_ROWS].values.astype(float)
    finite_rows = rows[np.isfinite(rows) & (rows > 0)]
    crashed = np.nan_to_num(w[schema.CRASHED].values)
    ok = np.isfinite(theta)
    takeoff = regime.regime == "takeoff"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "regime": regime.regime,
            "score_regime": score_regime.regime,
            "blowup_cycle": regime.blowup_cycle if takeoff else math.nan,
            "blowup_low": regime.blowup_low if takeoff else math.nan,
            "blowup_high": regime.blowup_high if takeoff else math.nan,
            "jump_cycle": jump_cycle,
            "jump_size": jump_size,
            "guard_bypass_cycle": events.guard_bypass(t, w[schema.GUARD_PATCHES].values),
            "capacity_cycle": events.capacity_reached(t, w[schema.INSTANCES].values, capacity),
            "peak_instances": float(total.max()) if len(total) else math.nan,
            "escaped_instances": events.escaped(w[schema.INSTANCES_EXTERNAL].values),
            "goodhart_gap": events.last_finite(w[schema.PROXY_SCORE].values - w[schema.SCORE].values),
            "final_ability": events.last_finite(theta),
            "final_score": events.last_finite(score),
            "rows_growth": float(finite_rows.max() / finite_rows[0]) if len(finite_rows) else math.nan,
            "crashed_fraction": float(np.max(crashed / np.maximum(total, 1))) if len(total) else math.nan,
            "rollbacks": float(np.nansum(w[schema.ROLLBACKS].values)),
            "diverged_cycle": float(diverged),
            "last_cycle": float(t[ok][-1]) if ok.any() else math.nan,
        }
