"""Timing helpers for the store's performance targets (called by ``benchmarks/``, not by tests).

Targets (issue 13): writing a batch of runs costs at most 10% of their
simulation time (story preset); opening a sweep of 100,000 short runs takes at
most 5 s, in memory that does not grow with the trajectories.
"""

from __future__ import annotations

import os
import time
import tracemalloc
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import xarray as xr

from results.batch import RunRecord
from results.store import SweepStore
from results.sweep import open_sweep
from results.testing import synthetic_config, synthetic_record


def time_write(records: Sequence[RunRecord], path: str | os.PathLike[str]) -> float:
    """Return the seconds one :meth:`SweepStore.write_batch` of ``records`` takes (into a new store).

    Examples
    --------
    >>> time_write([results.testing.synthetic_record(0)], tmp_path / "w.zarr")  # doctest: +SKIP
    0.05
    """
    store = SweepStore(path)
    start = time.perf_counter()
    store.write_batch(records)
    return time.perf_counter() - start


def write_many_runs(path: str | os.PathLike[str], runs: int, *, batch: int = 1000,
                    with_run: Callable[[xr.Dataset], Mapping[str, Any]] | None = None, **shape: Any) -> None:
    """Write ``runs`` short synthetic runs through the real writer, ``batch`` runs per group.

    Every run has its own id, config, params and overrides; their trajectories
    share one synthetic Dataset (the values do not matter for opening), and so
    do the further parts ``with_run`` returns for it (:class:`RunRecord`'s
    ``analysis``, ``curves``, ``info``: what a job writes with its run).
    """
    store = SweepStore(path)
    data = synthetic_record(0, **shape).data
    extra = dict(with_run(data)) if with_run is not None else {}
    for start in range(0, runs, batch):
        records = []
        for n in range(start, min(runs, start + batch)):
            config = {**synthetic_config(n, **shape), "number": n}
            params = {"seed": n, "loop.guard.mode": config["loop"]["guard"]["mode"]}
            records.append(RunRecord(f"{n:016x}", data, params=params,
                                     overrides=tuple(f"{k}={v}" for k, v in params.items()), config=config,
                                     **extra))
        store.write_batch(records)


def time_open_sweep(path: str | os.PathLike[str], *, runs: int = 100_000, batch: int = 5000,
                    with_run: Callable[[xr.Dataset], Mapping[str, Any]] | None = None,
                    **shape: Any) -> dict[str, float]:
    """Write ``runs`` short synthetic runs (unless there already) and time opening the sweep.

    Returns
    -------
    dict
        ``write_s`` (all runs), ``consolidate_s``, ``open_s`` (:func:`open_sweep`),
        ``open_peak_mb`` (peak memory traced while opening) and ``one_run_s``
        (reading one run's ``score``).

    Examples
    --------
    >>> time_open_sweep(tmp_path / "o.zarr", runs=1000)  # doctest: +SKIP
    {'write_s': 6.1, 'consolidate_s': 0.4, 'open_s': 0.9, 'open_peak_mb': 80.0, 'one_run_s': 0.01}
    """
    out: dict[str, float] = {}
    start = time.perf_counter()
    store = SweepStore(path)
    if not store.done_runs():
        write_many_runs(path, runs, batch=batch, with_run=with_run, **shape)
    out["write_s"] = time.perf_counter() - start
    start = time.perf_counter()
    store.consolidate()
    out["consolidate_s"] = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        ds = open_sweep(path)
        out["open_s"] = time.perf_counter() - start
        tracemalloc.start()  # a second opening, traced (tracing slows it down)
        open_sweep(path)
        out["open_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    ds["score"].isel(run=0).values  # noqa: B018  (the first read imports dask's scheduler)
    start = time.perf_counter()
    ds["score"].isel(run=runs // 2).values  # noqa: B018  (reads one run)
    out["one_run_s"] = time.perf_counter() - start
    return out
