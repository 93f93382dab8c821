"""Opening a sweep: every complete run of a store as one lazy Dataset along ``run``.

:func:`open_sweep` reads the store's index (one file after
:meth:`SweepStore.consolidate`, else one ``zarr.json`` per batch) and builds each
variable as one dask array over the runs, ordered by ``run_id``. A block of runs
is read when computed: for each batch group it holds runs of, zarr reads only
the inner chunks of those runs (and checks their checksums). Opening costs
metadata only, whatever the trajectories weigh.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from results import batch, schema
from results.provenance import config_value
from results.status import classify
from results.store import BATCHES, RUNS, StoreError, SweepStore
from results.verify import DamagedRunError, damaged

#: Elements of one block of a lazy variable (runs are grouped into blocks of about this size).
BLOCK_ELEMENTS = 1 << 22
#: A read of every variable of a stacked array's rows is kept for the other variables up to this size.
WHOLE_ROWS_BYTES = 1 << 25
#: Bytes of whole rows (:class:`_RowCache`) kept for the other variables of a block of runs.
CACHE_BYTES = 1 << 28
#: The coordinate along ``run`` holding the digest of the model code that computed each run.
MODEL_DIGEST = "model_digest"
#: The coordinate along ``run`` (in :func:`open_analysis`) holding the digest of the analysis code.
ANALYSIS_DIGEST = "analysis_digest"


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
    taken = {schema.RUN, schema.SEED, schema.CYCLE, schema.DOMAIN, schema.RUN_ID, MODEL_DIGEST,
             *schema.VARIABLES}
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


@dataclass(frozen=True)
class _Group:
    """Where one group's runs of one variable are: its URL, array and row, and its place on the grid."""

    url: str
    array: str | None  # None: a schema v1 run group (one array per variable), or the variable is absent
    variable: int
    v1: bool
    index: tuple[np.ndarray, ...] | None  # where the group's grid sits on the sweep's; None: same grid
    run_ids: tuple[str, ...]
    overrides: tuple[tuple[str, ...], ...]  # of each run, to name a damaged one
    width: int = 1  # variables in the stacked array


class _RowCache:
    """The last few reads of whole rows of stacked arrays (every variable), shared by lazy variables.

    The small parts (the analysis, the curve moments) stack many variables in one
    array: a reader that wants them all (the report) then reads each block of
    runs once instead of once per variable.
    """

    def __init__(self, size: int = CACHE_BYTES) -> None:
        # Bounded in bytes, not reads: dask reads a block of runs a variable at a time, every
        # group of the block for each variable; the block's rows must stay for the next variable.
        self.size, self.lock, self.held = size, threading.Lock(), 0
        self.items: OrderedDict[tuple[str, str, bytes], np.ndarray] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size}  # shipped to a worker empty (a lock does not pickle)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["size"])  # type: ignore[misc]

    def get(self, g: _Group, positions: np.ndarray, read: Callable[[], np.ndarray]) -> np.ndarray:
        """Return ``read()`` (every variable of ``g``'s rows at ``positions``), kept for the next caller."""
        assert g.array is not None
        key = (g.url, g.array, positions.tobytes())
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        rows = read()
        with self.lock:
            if key not in self.items:
                self.items[key] = rows
                self.held += rows.nbytes
            while self.held > self.size and len(self.items) > 1:
                self.held -= self.items.popitem(last=False)[1].nbytes
        return rows


class _LazyVariable:
    """One variable of every run of a sweep, read on indexing (dask reads it block by block)."""

    def __init__(self, name: str, dims: tuple[str, ...], dtype: str, fill: Any, shape: tuple[int, ...],
                 groups: list[_Group], group_of_run: np.ndarray, position: np.ndarray,
                 cache: _RowCache | None = None) -> None:
        self.name, self.dims, self.fill, self.cache = name, dims, fill, cache
        self.dtype = np.dtype(object if dtype == "str" else dtype)
        self.shape = (len(group_of_run), *shape)
        self.ndim = len(self.shape)
        self.groups, self.group_of_run, self.position = groups, group_of_run, position

    def _read(self, g: _Group, positions: np.ndarray) -> np.ndarray:
        import zarr

        try:
            if g.v1:
                return np.asarray(zarr.open_array(f"{g.url}/{self.name}", mode="r", zarr_format=3)[...],
                                  dtype=self.dtype)[np.newaxis]
            assert g.array is not None
            size = len(positions) * g.width * math.prod(self.shape[1:]) * self.dtype.itemsize
            if self.cache is not None and g.width > 1 and size <= WHOLE_ROWS_BYTES:
                array = g.array
                whole = self.cache.get(g, positions, lambda: batch.read_rows(g.url, array, positions.tolist(),
                                                                              None))
                return whole[:, g.variable].astype(self.dtype, copy=False)
            rows = batch.read_rows(g.url, g.array, positions.tolist(), g.variable)
            return rows.astype(self.dtype, copy=False)
        except Exception as err:  # whatever zarr or a codec raise (a bad checksum), name the runs
            raise self._damaged(g, positions, f"reading {self.name!r} failed", err) from err

    def _damaged(self, g: _Group, positions: np.ndarray, what: str,
                 err: BaseException | None = None) -> DamagedRunError:
        where = range(len(g.run_ids)) if g.v1 else positions.tolist()
        ids = [g.run_ids[p] for p in where]
        return damaged(ids, {g.run_ids[p]: g.overrides[p] for p in where}, what, err)

    def _checked(self, g: _Group, positions: np.ndarray) -> np.ndarray:
        """Read runs of a group; infinity, which the store never holds, means changed bytes."""
        values = self._read(g, positions)
        if values.dtype.kind == "f" and np.isinf(values).any():
            bad = np.isinf(values).reshape(len(values), -1).any(axis=1)
            raise self._damaged(g, positions[bad] if not g.v1 else positions,
                                f"{self.name!r} holds infinity, which the store never holds "
                                f"(its bytes changed)")
        return values

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        run_key, rest = key[0], key[1:]
        scalar = isinstance(run_key, int | np.integer)
        selected = np.arange(self.shape[0])[run_key]
        selected = np.atleast_1d(selected)
        out = np.full((len(selected), *self.shape[1:]), self.fill, dtype=self.dtype)
        groups = self.group_of_run[selected]
        for gi in np.unique(groups):
            rows = np.flatnonzero(groups == gi)
            g = self.groups[int(gi)]
            if g.array is None and not g.v1:
                continue  # this group does not hold the variable: fill
            values = self._checked(g, self.position[selected[rows]])
            if g.index is None:
                out[rows] = values
            else:
                out[np.ix_(rows, *g.index)] = values
        result = out[0] if scalar else out
        return result[(slice(None),) * (0 if scalar else 1) + tuple(rest)] if rest else result


@dataclass(frozen=True)
class _Runs:
    """The sweep's runs, ordered by id: the group and position of each, and their identity columns."""

    ids: np.ndarray  # (run,) str
    group_of_run: np.ndarray  # (run,) index into the sorted group names
    position: np.ndarray  # (run,) row in its group
    names: list[str]  # the groups, sorted

    def column(self, entries: Mapping[str, Mapping[str, Any]], key: str, default: Any = None) -> list[Any]:
        """Return one identity column (``params``, ``config``, ...) of every run, in run order."""
        columns = [entries[n]["runs"].get(key) for n in self.names]
        return [default if columns[g] is None else columns[g][p]
                for g, p in zip(self.group_of_run.tolist(), self.position.tolist(), strict=True)]


def _plan(entries: Mapping[str, Mapping[str, Any]]) -> _Runs:
    """Return the sweep's runs: a run held by several groups is read from the first by name."""
    names = sorted(entries)
    ids = [entries[n]["runs"]["run_id"] for n in names]
    if not names or not any(ids):
        empty = np.zeros(0, dtype=np.intp)
        return _Runs(np.asarray([], dtype=object), empty, empty, names)
    flat = np.concatenate([np.asarray(i, dtype=str) for i in ids])
    group = np.concatenate([np.full(len(i), g, dtype=np.intp) for g, i in enumerate(ids)])
    position = np.concatenate([np.arange(len(i), dtype=np.intp) for i in ids])
    unique, first = np.unique(flat, return_index=True)  # sorted ids; the first occurrence wins
    return _Runs(unique.astype(object), group[first], position[first], names)


def _variables(entries: Mapping[str, Mapping[str, Any]], part: str) -> dict[str, tuple[tuple[str, ...], str,
                                                                                       dict[str, str]]]:
    """Return every variable of a part in the sweep: name -> (dims, dtype, attrs)."""
    if part == batch.TRAJECTORY:
        return {n: (v.dims, v.dtype, {"long_name": v.long_name, "units": v.units})
                for n, v in schema.VARIABLES.items()}
    out: dict[str, tuple[tuple[str, ...], str, dict[str, str]]] = {}
    for entry in entries.values():
        for array, spec in entry.get("arrays", {}).items():
            if spec["part"] != part:
                continue
            dtype = array.rsplit("-", 1)[-1]
            for v in spec["variables"]:
                out.setdefault(v, (tuple(spec["dims"]), dtype, dict(spec.get("attrs", {}).get(v, {}))))
    return out


def _fill(dtype: str) -> Any:
    if dtype == "str":
        return ""
    return np.nan if dtype.startswith("float") else -1


def _lazy(store: SweepStore, entries: Mapping[str, Mapping[str, Any]], part: str, runs: _Runs,
          grid: dict[str, list[Any]], token: str) -> dict[str, Any]:
    """Return every variable of ``part`` as a dask array over ``(run, *dims)``."""
    import dask.array as da

    where = {dim: {v: i for i, v in enumerate(vals)} for dim, vals in grid.items()}
    places: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, ...] | None] = {}

    def place(gname: str, dims: tuple[str, ...]) -> tuple[np.ndarray, ...] | None:
        """Where a group's grid sits on the sweep's (None: the same grid)."""
        if (gname, dims) not in places:
            coords = entries[gname]["coords"]
            same = all(coords[d] == grid[d] for d in dims)
            places[gname, dims] = None if same else tuple(
                np.asarray([where[d][v] for v in coords[d]], dtype=np.intp) for d in dims)
        return places[gname, dims]

    out: dict[str, Any] = {}
    # The trajectories' rows are large and read a variable at a time; the other parts' rows are small.
    cache = None if part == batch.TRAJECTORY else _RowCache()
    for name, (dims, dtype, attrs) in _variables(entries, part).items():
        shape = tuple(len(grid[d]) for d in dims)
        groups = []
        for gname in runs.names:
            entry = entries[gname]
            index = place(gname, dims)
            array, variable, width = None, 0, 1
            for aname, spec in entry.get("arrays", {}).items():
                if spec["part"] == part and name in spec["variables"]:
                    array, variable, width = aname, spec["variables"].index(name), len(spec["variables"])
            v1 = bool(entry.get("v1")) and part == batch.TRAJECTORY
            url = store.url_of(RUNS if entry.get("v1") else BATCHES, entry.get("group", gname))
            ids_of = tuple(entry["runs"]["run_id"])
            given = entry["runs"].get("overrides") or [[]] * len(ids_of)
            groups.append(_Group(url, array, variable, v1, index, ids_of, tuple(tuple(o) for o in given),
                                 width))
        fill = schema.VARIABLES[name].fill if part == batch.TRAJECTORY else _fill(dtype)
        lazy = _LazyVariable(name, dims, dtype, fill, shape, groups, runs.group_of_run, runs.position, cache)
        per_run = max(1, math.prod(shape))
        block = max(1, min(len(runs.ids), BLOCK_ELEMENTS // per_run))
        array = da.from_array(lazy, chunks=(block, *shape), name=f"takeoff-{part}-{name}-{token}",
                              meta=np.empty((0,) * lazy.ndim, lazy.dtype))
        out[name] = ((schema.RUN, *dims), array, attrs)
    return out


def _grid_coords(grid: dict[str, list[Any]], runs: _Runs) -> dict[str, Any]:
    """Return the coordinates ``seed``, ``cycle``, ``domain`` (of ``grid``) and ``run_id`` (of ``runs``)."""
    return {
        schema.SEED: (schema.SEED, np.asarray(grid[schema.SEED], np.int64), schema.COORDS[schema.SEED]),
        schema.CYCLE: (schema.CYCLE, np.asarray(grid[schema.CYCLE], np.int64), schema.COORDS[schema.CYCLE]),
        schema.DOMAIN: (schema.DOMAIN, np.asarray(grid[schema.DOMAIN], dtype=object),
                        schema.COORDS[schema.DOMAIN]),
        schema.RUN_ID: (schema.RUN, runs.ids, schema.COORDS[schema.RUN_ID]),
    }


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    # Opening 10^5 runs makes millions of small objects that all stay alive: the garbage
    # collector's full passes over them cost more than the opening itself (about 2x).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _open(path_or_url: str | os.PathLike[str], parts: Sequence[str], *, warn: bool,
          exclude: Collection[str] = ()) -> list[xr.Dataset]:
    """Return ``parts`` of a sweep (:mod:`results.batch`'s parts), its index read and checked once."""
    with _no_gc():  # called straight from open_sweep: its warnings name open_sweep's caller
        return _open_sweep(path_or_url, parts, warn=warn, exclude=exclude)


def _open_sweep(path_or_url: str | os.PathLike[str], parts: Sequence[str], *, warn: bool,
                exclude: Collection[str] = ()) -> list[xr.Dataset]:
    store = SweepStore(path_or_url, create=False)
    entries = store.index()
    broken = store.broken_groups(entries)
    entries = {name: entry for name, entry in entries.items() if name not in broken}
    runs = _plan(entries)
    recorded = store.recorded_damage(entries)  # found damaged by an earlier read
    exclude = {*exclude, *recorded}
    if exclude:  # runs found damaged on read: their blocks must not be read again
        keep = ~np.isin(runs.ids.astype(str), np.asarray(list(exclude), dtype=str))
        runs = _Runs(runs.ids[keep], runs.group_of_run[keep], runs.position[keep], runs.names)
    ids = runs.ids.tolist()
    if warn or not ids:
        statuses = classify(store.facts(entries, broken))
        left = {s: sum(1 for v in statuses.values() if v == s)
                for s in ("failed", "damaged", "incomplete", "missing", "running")}
        if not ids:
            raise StoreError(f"the store {store.url!r} holds no complete run ("
                             + ", ".join(f"{n} {s}" for s, n in left.items()) + ")")
        named = [(rid, given, reason) for reason, rids, overrides in broken.values()
                 for rid, given in zip(rids, overrides or [[]] * len(rids), strict=False)]
        named += [(rid, given, reason) for rid, (reason, given) in recorded.items()]
        for rid, given, reason in named:
            if rid not in ids:
                warnings.warn(f"{store.url}: left out damaged run {rid} "
                              f"({' '.join(given) or 'no overrides'}): {reason}; "
                              f"rerun the sweep command that wrote it to recompute it",
                              UserWarning, stacklevel=4)
        if any(left.values()):
            counts = ", ".join(f"{n} {s}" for s, n in left.items() if n)
            warnings.warn(f"{store.url}: {sum(left.values())} runs left out ({counts}; {len(ids)} complete); "
                          f"see takeoff-report {store.url} --verify", UserWarning, stacklevel=4)
    used = [entries[n] for n in runs.names]
    grid = {
        schema.SEED: _union([e["coords"][schema.SEED] for e in used], sort=True),
        schema.CYCLE: _union([e["coords"][schema.CYCLE] for e in used], sort=True),
        schema.DOMAIN: _union([e["coords"][schema.DOMAIN] for e in used], sort=False),
    }
    token = hashlib.sha256("\n".join([store.url, *runs.names, *ids]).encode()).hexdigest()[:16]
    texts = runs.column(entries, "config", "{}")
    coords: dict[str, Any] = _grid_coords(grid, runs) | {
        MODEL_DIGEST: (schema.RUN, np.asarray([str(d or "") for d in runs.column(entries, MODEL_DIGEST, "")],
                                              dtype=object),
                       {"long_name": "digest of the model code that computed the run", "units": "1"}),
    }
    if any(part != batch.TRAJECTORY for part in parts):
        analysed = (schema.RUN, np.asarray([str(d or "") for d in runs.column(
            entries, ANALYSIS_DIGEST, "")], dtype=object),
            {"long_name": "digest of the analysis code that analysed the run", "units": "1"})
    params = runs.column(entries, "params", {})
    keys = sorted({k for p in params for k in p})
    parameters = {key: parameter_name(key) for key in keys}
    configs: dict[int, Any] = {}  # parsed only for runs that did not override a key others did
    for key in keys:
        values = []
        for i, p in enumerate(params):
            if key in p:
                values.append(p[key])
            else:
                if i not in configs:
                    configs[i] = json.loads(texts[i])
                values.append(config_value(configs[i], key))
        coords[parameters[key]] = (schema.RUN, _coordinate(values),
                                   {"long_name": f"run parameter {key}", "units": "1", "hydra_key": key})
    attrs = {
        "schema_version": store.attrs.get("schema_version"),
        "package_version": store.attrs.get("package_version", ""),
        "git_revision": store.attrs.get("git_revision") or "",
        "git_dirty": store.attrs.get("git_dirty"),
        "git_diff_sha256": store.attrs.get("git_diff_sha256") or "",
        "created": store.attrs.get("created", ""),
        "parameters": json.dumps(parameters),
        # Each run's resolved config as JSON text (which YAML readers read too).
        "configs": json.dumps(dict(zip(ids, texts, strict=True))),
        "overrides": json.dumps(dict(zip(ids, runs.column(entries, "overrides", []), strict=True))),
        "store": store.url,
    }
    opened = []
    for part in parts:
        extra = {ANALYSIS_DIGEST: analysed} if part != batch.TRAJECTORY else {}
        ds = xr.Dataset(_lazy(store, entries, part, runs, grid, token), coords=coords | extra)
        ds.attrs = dict(attrs)
        opened.append(ds)
    return opened


def open_sweep(path_or_url: str | os.PathLike[str], *, exclude: Collection[str] = ()) -> xr.Dataset:
    """Open every complete run of a sweep store as one lazy Dataset.

    Parameters
    ----------
    path_or_url
        A store written by takeoff: a local path or an fsspec URL.
    exclude
        Run ids to leave out (runs found damaged when read, see
        :class:`results.DamagedRunError`).

    Returns
    -------
    xarray.Dataset
        Dims ``run``, ``seed``, ``cycle``, ``domain``; dask-backed variables; along
        ``run`` the coordinates ``run_id``, ``model_digest`` (the run config's
        ``model_digest``, empty where it has none) and one coordinate per swept or
        overridden parameter, named by its Hydra key (``run.seed`` for the run
        seed, see :func:`parameter_name`; the ``parameters`` attribute maps keys
        to names, as JSON), with its natural type (a run that did not override
        a key gets the value of its resolved config). Runs are ordered by
        ``run_id``. Runs with other seeds or cycles are aligned on the union,
        missing values filled (NaN; -1 for ``diverged_cycle``). Provenance in
        ``attrs`` (``configs``: each run's config as JSON text; ``overrides``).

    Raises
    ------
    StoreError
        If there is no takeoff store there, or it holds no complete run.

    Warns
    -----
    UserWarning
        With the count of failed, incomplete and missing runs left out.

    Examples
    --------
    >>> ds = open_sweep("multirun/2026-11-24/10-00-00/results.zarr")  # doctest: +SKIP
    >>> ds.score.mean(["seed", "domain"]).groupby("loop.guard.mode").mean()  # doctest: +SKIP
    """
    (ds,) = _open(path_or_url, (batch.TRAJECTORY,), warn=True, exclude=exclude)
    schema.validate(ds, with_run=True)
    return ds


def open_analysis(path_or_url: str | os.PathLike[str], *, exclude: Collection[str] = ()) -> xr.Dataset:
    """Open the analysis the jobs wrote with their runs, lazily: per world and per run curve means.

    Parameters
    ----------
    path_or_url
        A store written by takeoff (schema v2; a v1 store holds no analysis).
    exclude
        Run ids to leave out, as in :func:`open_sweep`.

    Returns
    -------
    xarray.Dataset
        The analysis variables along ``(run, seed)`` (categorical ones as
        strings; empty strings and NaN for runs written without analysis), the
        curve means along ``(run, cycle)``, and the run coordinates of
        :func:`open_sweep` plus ``analysis_digest``.

    Examples
    --------
    >>> open_analysis("results.zarr")["regime"].to_pandas()  # doctest: +SKIP
    """
    ds, curves = _open(path_or_url, (batch.ANALYSIS, batch.CURVES), warn=False, exclude=exclude)
    # Both share the run coordinates; the curves add ``cycle``.
    return ds.merge(curves[list(curves.data_vars)], compat="override", join="outer",
                    combine_attrs="override")


def open_group(store: SweepStore, group: str) -> xr.Dataset:
    """Return the trajectories of one published group's runs, lazily, on the group's own grid.

    What a job wrote, as it wrote it: the seeds, cycles and domains of this
    group only (:func:`open_sweep` aligns every run on the union of the
    sweep's), so a run analysed from it is analysed as its job analysed it
    (``takeoff-report --reanalyse``). Reads the group's ``zarr.json`` only;
    a damaged chunk raises :class:`results.DamagedRunError` when it is read.

    Parameters
    ----------
    store
        The store (opened for reading).
    group
        The group's name under ``batches/`` (``runs/`` in a schema v1 store):
        the ``group`` of its :meth:`SweepStore.index` entry.

    Returns
    -------
    xarray.Dataset
        Dims ``run`` (ordered by ``run_id``), ``seed``, ``cycle``, ``domain``;
        attribute ``configs`` as in :func:`open_sweep`.
    """
    if store.version == 1:
        entry = {**store._v1_entry(group), "group": group}
    else:
        entry = {**store._group_entry(group), "group": group}
    entries = {group: entry}
    runs = _plan(entries)
    grid = {dim: list(entry["coords"][dim]) for dim in (schema.SEED, schema.CYCLE, schema.DOMAIN)}
    token = hashlib.sha256("\n".join([store.url, group, "group"]).encode()).hexdigest()[:16]
    coords = _grid_coords(grid, runs)
    ds = xr.Dataset(_lazy(store, entries, batch.TRAJECTORY, runs, grid, token), coords=coords)
    ds.attrs["configs"] = json.dumps(dict(zip(runs.ids.tolist(), runs.column(entries, "config", "{}"),
                                              strict=True)))
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
