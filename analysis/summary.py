"""One row per (run, seed): regime, blow-up, jump, outbreak and integrity figures.

Works run by run over the lazy sweep: each run's few variables are reduced
over domains and loaded alone, so memory stays bounded by one run whatever
the sweep's size. The same pass collects per-run sums over seeds for the
figures (:class:`RunCurves`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from analysis.growth import MIN_EFFECT
from analysis.wild import wild_enabled, wild_row
from analysis.world import CURVES, WORLD_COLUMNS, reduce_domains, world_row
from results import schema
from results.provenance import config_value

#: Columns of summary.csv after the parameter columns.
COLUMNS = ("run_id", "seed", "variant", *WORLD_COLUMNS)

__all__ = ["COLUMNS", "CURVES", "RunCurves", "VariantCurves", "run_configs", "run_parameters", "summarize",
           "variant_labels"]


@dataclass
class RunCurves:
    """One run's curves, averaged over its seeds (``(cycle,)`` float32 each), for the figures."""

    run_id: str
    variant: str
    cycle: np.ndarray
    means: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def mean(self, name: str) -> np.ndarray:
        """Return the mean over seeds of curve ``name``."""
        return self.means[name]


@dataclass
class VariantCurves:
    """Running sums over the worlds of one variant, for means with 95% bands."""

    cycle: np.ndarray
    total: dict[str, np.ndarray] = field(default_factory=dict)
    squares: dict[str, np.ndarray] = field(default_factory=dict)
    count: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, name: str, values: np.ndarray) -> None:
        """Add ``(seed, cycle)`` values of curve ``name``."""
        finite = np.isfinite(values)
        for store, part in (
            (self.total, np.where(finite, values, 0.0).sum(axis=0)),
            (self.squares, np.where(finite, values**2, 0.0).sum(axis=0)),
            (self.count, finite.sum(axis=0)),
        ):
            store[name] = store[name] + part if name in store else part

    def add_sums(self, name: str, total: np.ndarray, squares: np.ndarray, count: np.ndarray) -> None:
        """Add sums over worlds of curve ``name`` (values, squares, finite values; ``(cycle,)`` each)."""
        for store, part in ((self.total, total), (self.squares, squares), (self.count, count)):
            store[name] = store[name] + part if name in store else part


def run_parameters(ds: xr.Dataset) -> list[str]:
    """Return the names of the parameter coordinates along ``run``."""
    return [
        str(name)
        for name, coord in ds.coords.items()
        if coord.dims == (schema.RUN,) and name != schema.RUN_ID
    ]


#: Parameters that replicate a design rather than vary it: never part of a variant's label.
REPLICATES = ("seed", "run.seed", "seeds", "cycles", "store")
#: Attribute of a parameter coordinate sampled by a design (``analysis.sensitivity``): not a variant's label.
DESIGN_PARAMETER = "design_parameter"


def variant_labels(ds: xr.Dataset) -> list[str]:
    """Return one label per run from the design parameters that differ between runs."""
    params = [
        p for p in run_parameters(ds)
        if p not in REPLICATES and not ds[p].attrs.get(DESIGN_PARAMETER)
        and len(np.unique(ds[p].values.astype(str))) > 1
    ]
    if not params:
        return ["all"] * ds.sizes[schema.RUN]
    return [
        ", ".join(f"{p.removeprefix('loop.')}={ds[p].values[i]}" for p in params)
        for i in range(ds.sizes[schema.RUN])
    ]


def run_configs(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Return each run's resolved config, by run id (from the store's provenance)."""
    texts = json.loads(ds.attrs.get("configs", "{}"))
    return {rid: _config(text) for rid, text in texts.items()}


def _config(text: str) -> dict[str, Any]:
    """Parse a run's config: JSON text (schema v2, fast to read), else YAML (older stores)."""
    try:
        config = json.loads(text)
    except ValueError:
        config = yaml.safe_load(text)
    return config if isinstance(config, dict) else {}


def summarize(
    ds: xr.Dataset,
    *,
    labels: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    analysis: xr.Dataset | None = None,
    configs: dict[str, dict[str, Any]] | None = None,
    min_effect: float = MIN_EFFECT,
) -> tuple[pd.DataFrame, list[RunCurves], dict[str, VariantCurves]]:
    """Return the per-(run, seed) summary table and per-run curves of a sweep.

    Parameters
    ----------
    ds
        A sweep from :func:`results.open_sweep` (lazy is fine).
    labels
        Each run's variant (``analysis.variants.design``); default
        :func:`variant_labels`.
    progress
        Called with the number of runs done (e.g. a progress bar's ``update``).
    analysis
        The analysis the jobs stored (``results.open_analysis``): the runs it
        holds by the current analysis code are read from it
        (:mod:`analysis.stored`), without loading their trajectories; the
        others, and every run when None, are analysed from their trajectories.
    configs
        Each run's config by run id, when the caller has read them already
        (default :func:`run_configs`).
    min_effect
        The plateau rule's minimum effect (``ln C``) for the runs analysed here; the
        stored analysis used :data:`analysis.growth.MIN_EFFECT` (pass ``analysis=None``
        to analyse every run with another).

    Returns
    -------
    (pandas.DataFrame, list of RunCurves, dict of VariantCurves)
        The table has the run's parameter columns then :data:`COLUMNS`; the
        curves are per run (means) and per variant (sums for bands).
    """
    from analysis import stored

    params = run_parameters(ds)
    labels = variant_labels(ds) if labels is None else labels
    configs = run_configs(ds) if configs is None else configs
    rows: list[dict[str, Any]] = []
    curves: dict[int, RunCurves] = {}
    by_variant: dict[str, VariantCurves] = {}
    t = ds[schema.CYCLE].values.astype(float)
    fresh = stored.fresh_runs(ds, analysis)
    for i in np.flatnonzero(~fresh).tolist():
        run = ds.isel({schema.RUN: i})
        rid = str(run[schema.RUN_ID].values)
        config = configs.get(rid, {})
        loaded = reduce_domains(run, wild=wild_enabled(config))
        capacity = float(config_value(config, "capacity.home", np.nanmax(loaded["instances"].values)))
        base = {p: run[p].values.item() for p in params}
        rc = RunCurves(rid, labels[i], t, config=config)
        acc = by_variant.setdefault(labels[i], VariantCurves(t))
        for name in CURVES:
            if name not in loaded:  # the wild's curves, of a run without the wild
                continue
            values = loaded[name].values.astype(float)
            acc.add(name, values)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                rc.means[name] = np.nanmean(values, axis=0).astype(np.float32)
        curves[i] = rc
        for s in range(loaded.sizes[schema.SEED]):
            rows.append(
                base
                | {"seed": int(loaded[schema.SEED].values[s])}
                | world_row(loaded.isel({schema.SEED: s}), t, capacity, min_effect=min_effect)
                | wild_row(loaded.isel({schema.SEED: s}), t, config)
                | {"run_id": rid, "variant": labels[i], "_run": i}
            )
        if progress is not None:
            progress(1)
    frames = [pd.DataFrame(rows)]
    if analysis is not None and fresh.any():
        runs = np.flatnonzero(fresh)
        for label in {labels[i] for i in runs.tolist()}:
            by_variant.setdefault(label, VariantCurves(t))
        frames.append(stored.rows(ds, analysis, runs, labels, params))
        for i, rc in stored.curves(analysis, runs, labels, t, by_variant).items():
            rc.config = configs.get(rc.run_id, {})
            curves[i] = rc
        if progress is not None:
            progress(len(runs))
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) \
        else pd.DataFrame()
    if len(frame):
        frame = frame.sort_values("_run", kind="stable", ignore_index=True)
        frame["diverged_cycle"] = frame["diverged_cycle"].astype(int)
    table = frame[params + list(COLUMNS)] if len(frame) else pd.DataFrame(columns=params + list(COLUMNS))
    return table, [curves[i] for i in sorted(curves)], by_variant
