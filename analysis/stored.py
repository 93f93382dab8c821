"""Read back the analysis the jobs stored with their runs, so a report loads no trajectory it does not draw.

A job analyses its worlds and keeps, with the run, each world's summary columns
and the moments over seeds of the report's curves (:mod:`analysis.world`),
tagged with the digest of the analysis code. A run whose digest is that of the
code running now is *fresh*: its summary rows and curves are read from those
small arrays here. Any other run (older analysis code, a v1 store, a run
written without its analysis) is *stale* and :func:`analysis.summary.summarize`
analyses it again from its trajectories.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from analysis.world import CATEGORICAL, CURVES, WORLD_COLUMNS, analysis_digest
from results import schema

if TYPE_CHECKING:
    from analysis.summary import RunCurves, VariantCurves

#: The coordinate along ``run`` naming the analysis code of a stored analysis (``results.open_analysis``).
DIGEST = "analysis_digest"
#: Runs whose curve moments are loaded at once.
BLOCK_RUNS = 4096
#: Dask's scheduler for these reads: in one thread, every variable of a block of runs then comes
#: from one read of their stacked array (``results.sweep``); threads race to read it each (2x slower).
SCHEDULER = "synchronous"


def fresh_runs(ds: xr.Dataset, analysis: xr.Dataset | None) -> np.ndarray:
    """Return, per run of ``ds``, whether ``analysis`` holds its analysis by the current analysis code.

    Parameters
    ----------
    ds
        The sweep (``results.open_sweep``).
    analysis
        Its stored analysis (``results.open_analysis``), or None (every run is stale).

    Returns
    -------
    numpy.ndarray
        Booleans along ``run``.
    """
    stale = np.zeros(ds.sizes[schema.RUN], dtype=bool)
    if analysis is None or DIGEST not in analysis.coords or "regime" not in analysis:
        return stale
    if not np.array_equal(analysis[schema.RUN_ID].values.astype(str), ds[schema.RUN_ID].values.astype(str)):
        return stale  # not the same runs (a store written between the two openings)
    fresh: np.ndarray = analysis[DIGEST].values.astype(str) == analysis_digest()
    return fresh


def _blocks(analysis: xr.Dataset, variables: Sequence[str],
            runs: np.ndarray) -> Iterator[tuple[np.ndarray, xr.Dataset]]:
    """Yield ``(runs of a block, their loaded variables)`` for ``runs`` (ascending), block by block.

    A block is a slice along ``run``: dask then reads only the groups that hold it,
    each once for all the variables of a stacked array (a list of positions would
    read every run of a dask chunk, once per variable).
    """
    if not len(runs):
        return
    from results.sweep import CACHE_BYTES

    # A block's rows of every variable stay in the reader's cache until the last variable is read.
    per_run = sum(analysis[v].dtype.itemsize * int(np.prod(analysis[v].shape[1:])) for v in variables)
    size = max(1, min(BLOCK_RUNS, CACHE_BYTES // 2 // max(per_run, 1)))
    for start in range(int(runs[0]), int(runs[-1]) + 1, size):
        inside = runs[(runs >= start) & (runs < start + size)]
        if not len(inside):
            continue
        part = analysis[list(variables)].isel({schema.RUN: slice(int(inside[0]), int(inside[-1]) + 1)})
        yield inside, part.load(scheduler=SCHEDULER).isel({schema.RUN: inside - inside[0]})


def rows(ds: xr.Dataset, analysis: xr.Dataset, runs: np.ndarray, labels: Sequence[str],
         params: Sequence[str]) -> pd.DataFrame:
    """Return the summary rows of ``runs`` (ascending positions along ``run``) from the stored analysis.

    One row per world the run has (a seed of the sweep's grid that the run did
    not simulate has no regime and no row), in run then seed order; the column
    ``_run`` holds the run's position.
    """
    frames = [_rows(ds, analysis, block, part, labels, params)
              for block, part in _blocks(analysis, WORLD_COLUMNS, runs)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _rows(ds: xr.Dataset, analysis: xr.Dataset, runs: np.ndarray, part: xr.Dataset, labels: Sequence[str],
          params: Sequence[str]) -> pd.DataFrame:
    keep = part["regime"].values.astype(str) != ""
    run, seed = np.nonzero(keep)
    at = runs[run]
    frame: dict[str, np.ndarray] = {p: ds[p].values[at] for p in params}
    frame["seed"] = analysis[schema.SEED].values.astype(np.int64)[seed]
    for name in WORLD_COLUMNS:
        values = part[name].values[keep]
        frame[name] = values.astype(str).astype(object) if name in CATEGORICAL else values.astype(np.float64)
    frame["run_id"] = ds[schema.RUN_ID].values.astype(str).astype(object)[at]
    frame["variant"] = np.asarray(labels, dtype=object)[at]
    frame["_run"] = at
    return pd.DataFrame(frame)


def curves(analysis: xr.Dataset, runs: np.ndarray, labels: Sequence[str], t: np.ndarray,
           by_variant: dict[str, VariantCurves]) -> dict[int, RunCurves]:
    """Return the per-run curve means of ``runs`` and add their moments to ``by_variant``.

    The sums a variant's bands need (over its worlds, NaN left out) follow
    exactly from each run's mean, standard deviation and count over seeds.
    A curve no world of a run has (the wild's, of a run without the wild) is
    left out of that run, as :func:`analysis.summary.summarize` leaves it out.
    """
    from analysis.summary import RunCurves, VariantCurves

    names = [c for c in CURVES if f"{c}_n" in analysis]
    label_of = np.asarray(labels, dtype=object)
    out: dict[int, RunCurves] = {}
    variables = [f"{c}{m}" for c in names for m in ("_mean", "_sd", "_n")]
    for block, part in _blocks(analysis, variables, runs):
        codes, variants = pd.factorize(label_of[block])
        ids = analysis[schema.RUN_ID].values[block]
        for i, rid in zip(block.tolist(), ids, strict=True):
            out[i] = RunCurves(str(rid), str(label_of[i]), t)
        for name in names:
            mean = part[f"{name}_mean"].values
            n = np.nan_to_num(part[f"{name}_n"].values.astype(np.float64))
            m = np.where(n > 0, mean, 0.0).astype(np.float64)
            sd = np.where(n > 0, part[f"{name}_sd"].values, 0.0).astype(np.float64)
            sums = np.zeros((3, len(variants), len(t)))
            for k, value in enumerate((n * m, n * (sd**2 + m**2), n)):
                np.add.at(sums[k], codes, value)
            for k, variant in enumerate(variants):
                if sums[2, k].any():
                    by_variant.setdefault(variant, VariantCurves(t)).add_sums(name, *sums[:, k])
            has: np.ndarray = np.asarray(n.any(axis=1))
            for j, i in enumerate(block.tolist()):
                if has[j]:
                    out[i].means[name] = mean[j]
    return out
