"""Opening a sweep: every complete run of a store as one lazy Dataset along ``run``.

Opening 1,000 runs with ``xr.open_zarr`` + ``xr.concat`` costs a metadata read
and an alignment per run. Instead, :func:`open_sweep` reads the sweep index
(:meth:`SweepStore.consolidate`) and builds each variable as one dask array whose
blocks, one per run, read that run's Zarr array when computed.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np
import xarray as xr

from results import schema
from results.provenance import config_value
from results.store import RUNS, StoreError, SweepStore


def _read_block(url: str, name: str, index: tuple[np.ndarray, ...] | None, shape: tuple[int, ...],
                dtype: str, fill: Any) -> np.ndarray:
    """Read one run's variable; place it on the sweep's grid; add the leading ``run`` axis."""
    import zarr

    data = np.asarray(zarr.open_array(f"{url}/{name}", mode="r", zarr_format=3)[...], dtype=dtype)
    if index is None:
        return data[np.newaxis]
    out = np.full(shape, fill, dtype=dtype)
    out[np.ix_(*index)] = data
    return out[np.newaxis]


def _union(values: list[list[Any]], *, sort: bool) -> list[Any]:
    seen: dict[Any, None] = {}
    for vals in values:
        seen.update(dict.fromkeys(vals))
    return sorted(seen) if sort else list(seen)


def parameter_name(key: str) -> str:
    """Return the coordinate name of a run parameter: its Hydra key, unless that is taken.

    The run's ``seed`` (a top-level Hydra key) would collide with the ``seed``
    dimension; such a key is named ``run.<key>`` (``run.seed``).

    Examples
    --------
    >>> parameter_name("loop.guard.mode"), parameter_name("seed")
    ('loop.guard.mode', 'run.seed')
    """
    taken = {schema.RUN, schema.SEED, schema.CYCLE, schema.DOMAIN, schema.RUN_ID, *schema.VARIABLES}
    return f"{schema.RUN}.{key}" if key in taken else key


def _coordinate(values: list[Any]) -> np.ndarray:
    """Return parameter values as an array of their natural type (bool, int, float, else str)."""
    present = [v for v in values if v is not None]
    complete = len(present) == len(values)
    if present and complete and all(isinstance(v, bool) for v in present):
        return np.asarray(values, dtype=bool)
    if present and complete and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return np.asarray(values, dtype=np.int64)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(["" if v is None else str(v) for v in values], dtype=object)


def _lazy(store: SweepStore, ids: list[str], entries: dict[str, dict[str, Any]],
          grid: dict[str, list[Any]]) -> dict[str, Any]:
    """Return every schema variable as a dask array over ``(run, *dims)``, one block per run."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    where = {dim: {v: i for i, v in enumerate(vals)} for dim, vals in grid.items()}
    indexers: list[dict[str, np.ndarray] | None] = []
    for rid in ids:
        coords = entries[rid]["coords"]
        if all(coords[d] == grid[d] for d in grid):
            indexers.append(None)
        else:
            indexers.append({d: np.asarray([where[d][v] for v in coords[d]], dtype=np.intp) for d in grid})
    from dask.base import tokenize

    token = tokenize(store.url, ids, [entries[r]["group"] for r in ids], grid)
    out: dict[str, Any] = {}
    for name, var in schema.VARIABLES.items():
        shape = tuple(len(grid[d]) for d in var.dims)
        key = f"takeoff-{name}-{token}"
        graph: dict[Any, Any] = {}
        for i, rid in enumerate(ids):
            where_i = indexers[i]
            index = None if where_i is None else tuple(where_i[d] for d in var.dims)
            url = store.url_of(RUNS, entries[rid]["group"])
            graph[(key, i, *([0] * len(shape)))] = (_read_block, url, name, index, shape, var.dtype, var.fill)
        chunks = ((1,) * len(ids), *((n,) for n in shape))
        hlg = HighLevelGraph.from_collections(key, graph, dependencies=())
        out[name] = ((schema.RUN, *var.dims), da.Array(hlg, key, chunks, dtype=np.dtype(var.dtype)),
                     {"long_name": var.long_name, "units": var.units})
    return out


def open_sweep(path_or_url: str | os.PathLike[str]) -> xr.Dataset:
    """Open every complete run of a sweep store as one lazy Dataset.

    Parameters
    ----------
    path_or_url
        A store written by takeoff: a local path or an fsspec URL.

    Returns
    -------
    xarray.Dataset
        Dims ``run``, ``seed``, ``cycle``, ``domain``; dask-backed variables,
        one chunk per run; along ``run`` the coordinate ``run_id`` and one
        coordinate per swept or overridden parameter, named by its Hydra key
        (``run.seed`` for the run seed, see :func:`parameter_name`; the
        ``parameters`` attribute maps keys to names, as JSON), with its natural
        type (a run that did not override a key gets the value of its resolved
        config). Runs are ordered by ``run_id``. Runs with
        other seeds or cycles are aligned on the union, missing values filled
        (NaN; -1 for ``diverged_cycle``). Provenance in ``attrs``.

    Raises
    ------
    StoreError
        If there is no takeoff store there, or it holds no complete run.

    Warns
    -----
    UserWarning
        With the count of failed and incomplete runs left out.

    Examples
    --------
    >>> ds = open_sweep("multirun/2026-11-24/10-00-00/results.zarr")  # doctest: +SKIP
    >>> ds.score.mean(["seed", "domain"]).groupby("loop.guard.mode").mean()  # doctest: +SKIP
    """
    store = SweepStore(path_or_url, create=False)
    entries = store.index()
    ids = sorted(entries)
    failed = store.failed_runs()
    partial = [r for r in store.partial_runs() if r not in failed]
    if not ids:
        raise StoreError(f"the store {store.url!r} holds no complete run "
                         f"({len(failed)} failed, {len(partial)} incomplete)")
    if failed or partial:
        warnings.warn(f"{store.url}: {len(failed)} failed and {len(partial)} incomplete runs left out "
                      f"({len(ids)} complete); see results.failures({store.url!r})",
                      UserWarning, stacklevel=2)
    grid = {
        schema.SEED: _union([entries[r]["coords"][schema.SEED] for r in ids], sort=True),
        schema.CYCLE: _union([entries[r]["coords"][schema.CYCLE] for r in ids], sort=True),
        schema.DOMAIN: _union([entries[r]["coords"][schema.DOMAIN] for r in ids], sort=False),
    }
    coords: dict[str, Any] = {
        schema.SEED: (schema.SEED, np.asarray(grid[schema.SEED], np.int64), schema.COORDS[schema.SEED]),
        schema.CYCLE: (schema.CYCLE, np.asarray(grid[schema.CYCLE], np.int64), schema.COORDS[schema.CYCLE]),
        schema.DOMAIN: (schema.DOMAIN, np.asarray(grid[schema.DOMAIN], dtype=object),
                        schema.COORDS[schema.DOMAIN]),
        schema.RUN_ID: (schema.RUN, np.asarray(ids, dtype=object), schema.COORDS[schema.RUN_ID]),
    }
    keys = sorted({k for r in ids for k in entries[r]["params"]})
    names = {key: parameter_name(key) for key in keys}
    for key in keys:
        values = [entries[r]["params"].get(key, config_value(entries[r]["config"], key)) for r in ids]
        coords[names[key]] = (schema.RUN, _coordinate(values),
                              {"long_name": f"run parameter {key}", "units": "1", "hydra_key": key})
    ds = xr.Dataset(_lazy(store, ids, entries, grid), coords=coords)
    ds.attrs = {
        "schema_version": store.attrs.get("schema_version"),
        "package_version": store.attrs.get("package_version", ""),
        "git_revision": store.attrs.get("git_revision") or "",
        "git_dirty": store.attrs.get("git_dirty"),
        "git_diff_sha256": store.attrs.get("git_diff_sha256") or "",
        "created": store.attrs.get("created", ""),
        "parameters": json.dumps(names),
        "configs": json.dumps({r: entries[r]["config_yaml"] for r in ids}),
        "overrides": json.dumps({r: entries[r]["overrides"] for r in ids}),
        "store": store.url,
    }
    schema.validate(ds, with_run=True)
    return ds


def failures(path_or_url: str | os.PathLike[str]) -> Any:
    """Return the failed runs of a store that never completed, as a pandas DataFrame.

    Parameters
    ----------
    path_or_url
        A store written by takeoff.

    Returns
    -------
    pandas.DataFrame
        One row per failed run: ``run_id``, ``error``, ``overrides`` (one
        string), then one column per parameter (Hydra key).

    Examples
    --------
    >>> failures("results.zarr")[["run_id", "error"]]  # doctest: +SKIP
    """
    import pandas as pd

    store = SweepStore(path_or_url, create=False)
    rows = [{"run_id": rid, "error": rec.get("error", ""), "overrides": " ".join(rec.get("overrides", [])),
             **dict(rec.get("params", {}))}
            for rid, rec in sorted(store.failed_runs().items())]
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "error", "overrides"])
