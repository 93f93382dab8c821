"""The sweep store: one Zarr group per run, published atomically.

Layout of a store at ``PATH``::

    PATH/zarr.json              root group; attrs["takeoff"] marks a takeoff store
    PATH/runs/<run_id>/         one run, schema v1 (xarray -> Zarr, zstd)
    PATH/done/<run_id>          written last: the run is complete
    PATH/runs/.tmp-<run_id>-*   a run being written (or killed mid-write)
    PATH/failed/<run_id>.json   a failed run: its params, config and error

Concurrent writers never share a chunk or a group: each run is written under a
temporary name and renamed into place (an atomic directory rename on a local
file system), so a reader sees a run whole or not at all, a retried job finds its
run already there, and a killed writer leaves only a ``.tmp-`` directory that
readers ignore. Nothing appends along a dimension.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import fsspec
import numpy as np
import xarray as xr
import zarr
from fsspec.implementations.local import LocalFileSystem

from results import schema
from results.provenance import git_revision, now, package_version

log = logging.getLogger(__name__)

MARKER = "takeoff"
RUNS, FAILED, DONE, TMP = "runs", "failed", "done", ".tmp-"
SUBDIRS = (RUNS, FAILED, DONE)


class StoreError(Exception):
    """A store path cannot be used; the message names the path and the reason."""


def run_id(config: Mapping[str, Any]) -> str:
    """Return a stable hash of a resolved run config.

    Parameters
    ----------
    config
        The resolved config as plain data. Callers leave out the store path and
        Hydra's runtime keys, so the same config always gets the same id.

    Returns
    -------
    str
        16 hex digits.

    Examples
    --------
    >>> run_id({"seeds": 4, "loop": {"guard": {"mode": "in_loop"}}})
    '...'  # doctest: +SKIP
    """
    import hashlib

    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    from zarr.codecs import ZstdCodec

    return {name: {"compressors": (ZstdCodec(level=3),)} for name in ds.data_vars}


class SweepStore:
    """A takeoff sweep store on a local path or an fsspec URL.

    Parameters
    ----------
    path_or_url
        Where the store is (``results.zarr``, ``file:///...``, ``memory://...``).
    create
        Create the store if nothing is there. With ``create=False`` a missing
        store is an error.

    Raises
    ------
    StoreError
        If the path is a file or inside one, cannot be written, holds something
        that is not a takeoff store, or a store of another schema version.

    Examples
    --------
    >>> store = SweepStore(tmp_path / "results.zarr")  # doctest: +SKIP
    >>> store.status()  # doctest: +SKIP
    {}
    """

    def __init__(self, path_or_url: str | os.PathLike[str], *, create: bool = True) -> None:
        self.url = os.fspath(path_or_url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.local = isinstance(self.fs, LocalFileSystem)
        self.attrs = self._open(create)

    # -- paths ---------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def _url(self, *parts: str) -> str:
        if self.local:
            return self._path(*parts)
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{self._path(*parts).lstrip('/')}" if protocol != "memory" else \
            f"memory://{self._path(*parts)}"

    # -- opening -------------------------------------------------------------------------
    def _open(self, create: bool) -> dict[str, Any]:
        fs, root = self.fs, self.root
        if fs.isfile(root):
            raise StoreError(f"store path {self.url!r} is a file, not a directory; "
                             f"choose a new or existing store directory")
        if self.local:
            parent = os.path.dirname(os.path.abspath(root))
            while parent and not os.path.exists(parent):
                parent = os.path.dirname(parent)
            if os.path.isfile(parent):
                raise StoreError(f"store path {self.url!r} lies inside the file {parent!r}")
        if fs.isdir(root) and fs.ls(root):
            return self._check_existing()
        if not create:
            raise StoreError(f"no takeoff store at {self.url!r} (nothing there)")
        return self._create()

    def _check_existing(self) -> dict[str, Any]:
        meta = self._path("zarr.json")
        attrs: dict[str, Any] = {}
        if self.fs.isfile(meta):
            try:
                with self.fs.open(meta, "r") as f:
                    attrs = json.load(f).get("attributes", {})
            except (OSError, ValueError):
                attrs = {}
        info = attrs.get(MARKER)
        if not isinstance(info, dict):
            raise StoreError(
                f"{self.url!r} exists and is not a takeoff store (no takeoff marker in zarr.json); "
                f"refusing to write into it or change anything there: choose another store= path"
            )
        version = info.get("schema_version")
        if version != schema.SCHEMA_VERSION:
            raise StoreError(f"{self.url!r} is a takeoff store of schema version {version}; "
                             f"this takeoff reads and writes version {schema.SCHEMA_VERSION}")
        return info

    def _create(self) -> dict[str, Any]:
        info = {
            "schema_version": schema.SCHEMA_VERSION,
            "package_version": package_version(),
            "git_revision": git_revision(),
            "created": now(),
        }
        try:
            for sub in SUBDIRS:
                self.fs.makedirs(self._path(sub), exist_ok=True)
            group = zarr.open_group(self._url(), mode="a", zarr_format=3)
            group.attrs[MARKER] = info
        except OSError as err:
            raise StoreError(f"cannot create a store at {self.url!r}: {err.strerror or err}") from err
        return info

    # -- writing -------------------------------------------------------------------------
    def write_run(self, run_id: str, ds: xr.Dataset, *, params: Mapping[str, Any],
                  config_yaml: str, overrides: Sequence[str], config: Mapping[str, Any] | None = None) -> bool:
        """Write one run atomically; do nothing if it is already complete.

        Parameters
        ----------
        run_id
            The run's config hash (:func:`run_id`).
        ds
            The run's Dataset (:func:`results.schema.run_dataset`).
        params
            The run's swept or overridden parameters, by Hydra key.
        config_yaml
            The run's resolved config as YAML (provenance).
        overrides
            The command-line overrides that made the run.
        config
            The resolved config as plain data, used to fill parameter
            coordinates of runs that did not override a key.

        Returns
        -------
        bool
            True if this call wrote the run, False if it was already there.
        """
        schema.validate(ds)
        if self.is_done(run_id):
            return False
        out = ds.copy()
        out.attrs = {
            "run_id": run_id,
            "params": json.dumps(dict(params), default=str),
            "config_yaml": config_yaml,
            "config": json.dumps(dict(config or {}), default=str),
            "overrides": json.dumps(list(overrides)),
            "created": now(),
        }
        tmp_name = f"{TMP}{run_id}-{uuid.uuid4().hex[:8]}"
        tmp = self._path(RUNS, tmp_name)
        out.to_zarr(self._url(RUNS, tmp_name), mode="w-", consolidated=False, zarr_format=3,
                    encoding=_encoding(out))
        wrote = self._publish(tmp, self._path(RUNS, run_id))
        with self.fs.open(self._path(DONE, run_id), "w") as f:
            f.write(run_id)
        return wrote

    def _publish(self, tmp: str, final: str) -> bool:
        """Move a fully written run into place; the first writer of a run wins."""
        if self.fs.exists(final) and not self.is_done(final.rsplit("/", 1)[-1]):
            # Published by a writer killed before it marked the run done. The data
            # are complete (the rename came after the last chunk), but we replace
            # them with ours, which are the same by determinism.
            self.fs.rm(final, recursive=True)
        if self.local:
            try:
                os.rename(tmp, final)
                return True
            except OSError:
                # Another writer published the same run first (same config, same
                # data): drop our copy, which only we wrote.
                shutil.rmtree(tmp, ignore_errors=True)
                return False
        if self.fs.exists(final):
            self.fs.rm(tmp, recursive=True)
            return False
        self.fs.mv(tmp, final, recursive=True)
        return True

    def forget(self, run_id: str) -> None:
        """Remove a run this store holds (for a forced rerun); the store wrote it, so it may."""
        for path in (self._path(DONE, run_id), self._path(RUNS, run_id), self._path(FAILED, f"{run_id}.json")):
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)

    def write_failure(self, run_id: str, *, params: Mapping[str, Any], config_yaml: str,
                      overrides: Sequence[str], error: str) -> None:
        """Record that a run failed, with its error message."""
        record = {"run_id": run_id, "params": dict(params), "config_yaml": config_yaml,
                  "overrides": list(overrides), "error": error, "created": now()}
        text = json.dumps(record, default=str, indent=1)
        final = self._path(FAILED, f"{run_id}.json")
        tmp = self._path(FAILED, f"{TMP}{run_id}-{uuid.uuid4().hex[:8]}")
        with self.fs.open(tmp, "w") as f:
            f.write(text)
        if self.local:
            os.replace(tmp, final)
        else:
            self.fs.mv(tmp, final)

    # -- reading -------------------------------------------------------------------------
    def is_done(self, run_id: str) -> bool:
        """Return True if run ``run_id`` is complete in the store."""
        return bool(self.fs.isfile(self._path(DONE, run_id)))

    def done_runs(self) -> list[str]:
        """Return the ids of the complete runs, sorted."""
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self._path(DONE), detail=False)]
        return sorted(n for n in names if not n.startswith(TMP))

    def partial_runs(self) -> list[str]:
        """Return the temporary directories of runs being written or killed mid-write."""
        names = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self._path(RUNS), detail=False)]
        return sorted(n for n in names if n.startswith(TMP))

    def failed_runs(self) -> dict[str, dict[str, Any]]:
        """Return the failure records of runs that failed and never completed, by run id."""
        out: dict[str, dict[str, Any]] = {}
        for path in self.fs.ls(self._path(FAILED), detail=False):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(TMP) or not name.endswith(".json"):
                continue
            rid = name[: -len(".json")]
            if self.is_done(rid):
                continue
            with self.fs.open(path, "r") as f:
                out[rid] = json.load(f)
        return out

    def status(self) -> dict[str, str]:
        """Return ``run_id -> "done" | "failed"`` for every run the store knows."""
        out = {rid: "failed" for rid in self.failed_runs()}
        out.update({rid: "done" for rid in self.done_runs()})
        return out

    def open_run(self, run_id: str) -> xr.Dataset:
        """Open one complete run lazily."""
        return xr.open_zarr(self._url(RUNS, run_id), consolidated=False, chunks={}, zarr_format=3)

    def consolidate(self) -> None:
        """Write the sweep index (run ids and parameters) so that opening a sweep is fast."""
        index = {}
        for rid in self.done_runs():
            attrs = self._run_attrs(rid)
            index[rid] = {"params": attrs.get("params", "{}"), "config": attrs.get("config", "{}"),
                          "config_yaml": attrs.get("config_yaml", ""),
                          "overrides": attrs.get("overrides", "[]")}
        with self.fs.open(self._path("index.json"), "w") as f:
            json.dump(index, f)

    def _run_attrs(self, rid: str) -> dict[str, Any]:
        with self.fs.open(self._path(RUNS, rid, "zarr.json"), "r") as f:
            attrs: dict[str, Any] = json.load(f).get("attributes", {})
        return attrs

    def _index(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        index: dict[str, dict[str, Any]] = {}
        path = self._path("index.json")
        if self.fs.isfile(path):
            with self.fs.open(path, "r") as f:
                index = json.load(f)
        for rid in ids:
            if rid not in index or not isinstance(index[rid], dict):
                attrs = self._run_attrs(rid)
                index[rid] = {k: attrs.get(k, "") for k in ("params", "config", "config_yaml", "overrides")}
        return {rid: index[rid] for rid in ids}


def _lookup(config: Mapping[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _coordinate(values: list[Any]) -> np.ndarray:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present) and len(present) == len(values):
        return np.asarray(values, dtype=bool)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present) \
            and len(present) == len(values):
        return np.asarray(values, dtype=np.int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    return np.asarray(["" if v is None else str(v) for v in values], dtype=object)


def open_sweep(path_or_url: str | os.PathLike[str]) -> xr.Dataset:
    """Open every complete run of a sweep store as one lazy Dataset.

    Parameters
    ----------
    path_or_url
        A store written by takeoff: a local path or an fsspec URL.

    Returns
    -------
    xarray.Dataset
        Dims ``run``, ``seed``, ``cycle``, ``domain``; dask-backed variables;
        along ``run`` the coordinate ``run_id`` and one coordinate per swept or
        overridden parameter, named by its Hydra key. Provenance in ``attrs``.

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
    import warnings

    store = SweepStore(path_or_url, create=False)
    ids = store.done_runs()
    failed = store.failed_runs()
    partial = store.partial_runs()
    if not ids:
        raise StoreError(f"the store {store.url!r} holds no complete run "
                         f"({len(failed)} failed, {len(partial)} incomplete)")
    if failed or partial:
        warnings.warn(f"{store.url}: {len(failed)} failed and {len(partial)} incomplete runs left out; "
                      f"see results.failures()", UserWarning, stacklevel=2)
    index = store._index(ids)
    runs = [store.open_run(rid) for rid in ids]
    ds = xr.concat(runs, dim=schema.RUN, data_vars="all", coords="minimal", compat="override",
                   join="outer", combine_attrs="drop")
    params = {rid: json.loads(index[rid]["params"] or "{}") for rid in ids}
    configs = {rid: json.loads(index[rid]["config"] or "{}") for rid in ids}
    keys = sorted({k for p in params.values() for k in p})
    coords: dict[str, Any] = {schema.RUN_ID: (schema.RUN, np.asarray(ids, dtype=object), schema.COORDS[schema.RUN_ID])}
    for key in keys:
        values = [params[rid].get(key, _lookup(configs[rid], key)) for rid in ids]
        coords[key] = (schema.RUN, _coordinate(values), {"long_name": f"run parameter {key}", "units": "1"})
    ds = ds.assign_coords(coords)
    for name, var in schema.VARIABLES.items():
        ds[name].attrs = {"long_name": var.long_name, "units": var.units}
    ds.attrs = {
        "schema_version": store.attrs.get("schema_version"),
        "package_version": store.attrs.get("package_version"),
        "git_revision": store.attrs.get("git_revision") or "",
        "created": store.attrs.get("created"),
        "configs": json.dumps({rid: index[rid]["config_yaml"] for rid in ids}),
        "overrides": json.dumps({rid: json.loads(index[rid]["overrides"] or "[]") for rid in ids}),
        "store": store.url,
    }
    return ds


def failures(path_or_url: str | os.PathLike[str]) -> Any:
    """Return the failed runs of a store as a pandas DataFrame (run_id, error, overrides, params).

    Examples
    --------
    >>> failures("results.zarr")  # doctest: +SKIP
    """
    import pandas as pd

    store = SweepStore(path_or_url, create=False)
    rows = [{"run_id": rid, "error": rec.get("error", ""), "overrides": " ".join(rec.get("overrides", [])),
             **{k: v for k, v in rec.get("params", {}).items()}}
            for rid, rec in sorted(store.failed_runs().items())]
    return pd.DataFrame(rows, columns=None if rows else ["run_id", "error", "overrides"])
