"""Timing helpers for the store's performance targets (called by ``benchmarks/``, not by tests).

Targets (issue 3): writing a run costs at most 5% of its simulation time for
the story preset; opening a 1,000-run sweep takes at most 5 s.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import xarray as xr

from results.store import SweepStore
from results.sweep import open_sweep
from results.testing import write_synthetic_runs


def time_write(ds: xr.Dataset, path: str | os.PathLike[str], *, run_id: str = "bench") -> float:
    """Return the seconds one :meth:`SweepStore.write_run` of ``ds`` takes (into a new store at ``path``).

    Examples
    --------
    >>> time_write(results.testing.synthetic_run(0), tmp_path / "w.zarr")  # doctest: +SKIP
    0.05
    """
    store = SweepStore(path)
    start = time.perf_counter()
    store.write_run(run_id, ds, params={}, config_yaml="", overrides=[])
    return time.perf_counter() - start


def time_open_sweep(path: str | os.PathLike[str], *, runs: int = 1000, consolidate: bool = True,
                    **shape: Any) -> dict[str, float]:
    """Write ``runs`` small synthetic runs (unless there already) and time opening the sweep.

    Returns
    -------
    dict
        ``write_s`` (all runs), ``consolidate_s``, ``open_s`` (:func:`open_sweep`)
        and ``compute_s`` (reading every value of ``score``).

    Examples
    --------
    >>> time_open_sweep(tmp_path / "o.zarr", runs=1000)  # doctest: +SKIP
    {'write_s': 60.1, 'consolidate_s': 7.0, 'open_s': 0.4, 'compute_s': 1.2}
    """
    out: dict[str, float] = {}
    start = time.perf_counter()
    store = SweepStore(path)
    have = len(store.done_runs())
    if have < runs:
        write_synthetic_runs(path, range(have, runs), **shape)
    out["write_s"] = time.perf_counter() - start
    start = time.perf_counter()
    if consolidate:
        store.consolidate()
    out["consolidate_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = open_sweep(path)
    out["open_s"] = time.perf_counter() - start
    start = time.perf_counter()
    ds["score"].values  # noqa: B018  (reads every run)
    out["compute_s"] = time.perf_counter() - start
    return out
