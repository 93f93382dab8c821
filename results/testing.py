"""Helpers for testing code that writes or reads sweep stores (public, like ``xarray.testing``).

``assert_schema`` and ``assert_sweeps_equal`` fail with a message that says what
differs; ``synthetic_run`` makes a schema-complete run without the simulator,
and ``write_synthetic_runs`` writes numbered ones into a store (usable as a
``multiprocessing`` target, and by benchmarks).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

from results import schema
from results.batch import RunRecord
from results.store import SweepStore, run_id

#: Dataset attributes that differ between two stores holding the same runs.
PROVENANCE_ONLY = ("created", "store", "git_revision", "package_version")


def assert_schema(ds: xr.Dataset, *, with_run: bool = False) -> None:
    """Assert that ``ds`` follows the store schema; the message names what is wrong.

    Examples
    --------
    >>> assert_schema(synthetic_run(0))
    """
    try:
        schema.validate(ds, with_run=with_run)
    except schema.SchemaError as err:
        raise AssertionError(f"dataset does not follow schema v{schema.SCHEMA_VERSION}: {err}") from None


def assert_sweeps_equal(actual: xr.Dataset, expected: xr.Dataset) -> None:
    """Assert that two opened sweeps hold identical runs, values, coordinates and attributes.

    Attributes in :data:`PROVENANCE_ONLY` (when and where a store was made) are
    not compared.

    Examples
    --------
    >>> assert_sweeps_equal(open_sweep("a.zarr"), open_sweep("b.zarr"))  # doctest: +SKIP
    """
    assert_schema(actual, with_run=True)
    assert_schema(expected, with_run=True)
    a, b = actual.compute(), expected.compute()
    for ds in (a, b):
        ds.attrs = {k: v for k, v in ds.attrs.items() if k not in PROVENANCE_ONLY}
    xr.testing.assert_identical(a, b)


def synthetic_run(number: int, *, seeds: int = 2, cycles: int = 12, record_every: int = 1,
                  domains: tuple[str, ...] = ("chess", "math", "captioning")) -> xr.Dataset:
    """Return a schema-complete run with deterministic values that depend on ``number``.

    Seed ``seeds - 1`` diverges halfway: NaN after it, like the simulator's record.

    Parameters
    ----------
    number
        Picks the values (a run's "seed"); equal numbers give identical runs.
    seeds, cycles, record_every, domains
        The run's shape: ``cycles // record_every`` kept cycles.

    Examples
    --------
    >>> synthetic_run(3).sizes["cycle"]
    12
    """
    rng = np.random.default_rng([number, seeds, cycles])
    kept = np.arange(0, cycles, record_every, dtype=np.int64)
    sizes = {schema.SEED: seeds, schema.CYCLE: len(kept), schema.DOMAIN: len(domains)}
    arrays: dict[str, np.ndarray] = {}
    for name, var in schema.VARIABLES.items():
        shape = [sizes[d] for d in var.dims]
        if var.dtype.startswith("int"):
            arrays[name] = np.full(shape, -1, dtype=var.dtype)
            continue
        values = rng.random(shape, dtype=np.float32)
        if seeds > 1:
            values[seeds - 1, len(kept) // 2:] = np.nan
        arrays[name] = values
    if seeds > 1:
        arrays[schema.DIVERGED_CYCLE][seeds - 1] = kept[len(kept) // 2]
    return schema.run_dataset(arrays, seed=np.arange(seeds, dtype=np.int64), cycle=kept, domain=domains)


def synthetic_config(number: int, **shape: Any) -> dict[str, Any]:
    """Return the plain config of synthetic run ``number``: a few swept-like keys of natural types."""
    return {"seed": number, "loop": {"guard": {"mode": ("none", "in_loop", "external")[number % 3]},
                                     "propose": {"returns": 0.5 + 0.25 * (number % 4)}},
            "evaluate": number % 2 == 0, **shape}


def synthetic_record(number: int, **shape: Any) -> RunRecord:
    """Return synthetic run ``number`` as the store keeps it: data, params, overrides and config."""
    config = synthetic_config(number, **shape)
    params = {"seed": number, "loop.guard.mode": config["loop"]["guard"]["mode"]}
    if number % 2:
        params["loop.propose.returns"] = config["loop"]["propose"]["returns"]
    return RunRecord(run_id(config), synthetic_run(number, **shape), params=params,
                     overrides=tuple(f"{k}={v}" for k, v in params.items()), config=config)


def write_synthetic_runs(url: str | os.PathLike[str], numbers: Iterable[int], *, batch_size: int = 1,
                         **shape: Any) -> list[str]:
    """Write synthetic runs ``numbers`` into the store at ``url``; return their run ids.

    Parameters
    ----------
    url
        Store path or URL (created if nothing is there).
    numbers
        Which runs (see :func:`synthetic_run`).
    batch_size
        Runs per batch group (the last batch may be smaller). With 1, each run
        is written by :meth:`SweepStore.write_run`, which skips a complete run.
    **shape
        Passed on to :func:`synthetic_run`.

    Examples
    --------
    >>> write_synthetic_runs(tmp_path / "s.zarr", range(4))  # doctest: +SKIP
    """
    store = SweepStore(url)
    ids: list[str] = []
    numbers = list(numbers)
    for start in range(0, len(numbers), max(1, batch_size)):
        records = [synthetic_record(n, **shape) for n in numbers[start:start + max(1, batch_size)]]
        if batch_size <= 1:
            (r,) = records
            store.write_run(r.run_id, r.data, params=r.params, overrides=r.overrides, config=r.config)
        else:
            store.write_batch(records)
        ids.extend(r.run_id for r in records)
    return ids
