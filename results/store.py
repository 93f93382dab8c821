"""The sweep store: one Zarr group per run, published atomically.

Layout of a store at ``PATH``::

    PATH/zarr.json              root group; attrs["takeoff"] marks a takeoff store (schema, provenance)
    PATH/runs/<run_id>/         one complete run, schema v1 (xarray -> Zarr v3, zstd)
    PATH/runs/.tmp-<run_id>-*   a run being written, or one whose writer was killed
    PATH/done/<run_id>          written last; holds the name of the run's group under runs/
    PATH/failed/<run_id>.json   a failed run: its params, config, overrides and error
    PATH/index.json             written by :meth:`SweepStore.consolidate`: what opening a sweep needs
    PATH/design.json            the design of the latest design sweep (:meth:`SweepStore.write_design`)

Concurrent writers never share a chunk or a group: each writer writes its run
into a group of its own under a temporary name. On a local file system it then
renames the group into place (``rename(2)`` is atomic), so a reader sees a run
whole or not at all, a retried job finds its run already there, and a killed
writer leaves only a ``.tmp-`` group that readers ignore. On object stores and
other fsspec file systems, where there is no atomic rename, the ``done/<run_id>``
marker (one small object, written after the last chunk) names the group that
holds the run. Nothing appends along a dimension (DESIGN section 4).
"""

from __future__ import annotations

import hashlib
import itertools
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
from fsspec.implementations.local import LocalFileSystem

from results import schema
from results.provenance import git_state, now, package_version

log = logging.getLogger(__name__)

#: Root attribute that marks a takeoff store.
MARKER = "takeoff"
RUNS, FAILED, DONE, TMP, INDEX = "runs", "failed", "done", ".tmp-", "index.json"
#: The experimental design of the store's latest design sweep (``hydra/sweeper=design``).
DESIGN = "design.json"
SUBDIRS = (RUNS, FAILED, DONE)
#: Elements per chunk when a run is written (about 4 MB of float32).
CHUNK_ELEMENTS = 1 << 20


class StoreError(Exception):
    """A store path cannot be used; the message names the path and the reason."""


#: Chunk keys ``c.0.1`` rather than zarr's default ``c/0/1``: every chunk file
#: sits in its array's directory, so a run costs no nested directories
#: (a story run's write: 14 ms -> 7.5 ms on a local disk).
CHUNK_SEPARATOR = "."


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
        16 hex digits; the same for equal configs, whatever their key order.

    Examples
    --------
    >>> run_id({"seeds": 4, "loop": {"guard": {"mode": "in_loop"}}})
    'eeb29e4a61cf5c34'
    """
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chunks(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """Return the chunks of each variable: along ``cycle``, at most CHUNK_ELEMENTS per chunk."""
    encoding: dict[str, dict[str, Any]] = {}
    for name, da in ds.data_vars.items():
        chunks = list(da.shape)
        if schema.CYCLE in da.dims:
            axis = da.dims.index(schema.CYCLE)
            others = max(1, da.size // max(1, da.shape[axis]))
            chunks[axis] = max(1, min(da.shape[axis], CHUNK_ELEMENTS // others))
        encoding[str(name)] = {"chunks": tuple(max(1, c) for c in chunks)}
    return encoding


def _write_group(url: str, ds: xr.Dataset) -> None:
    """Write ``ds`` as a new Zarr v3 group that ``xr.open_zarr`` reads back identically.

    ``Dataset.to_zarr`` creates, fills and annotates the ~23 arrays of a run one
    after another, each a round trip through zarr's event loop (~55 ms for a
    story run); creating and filling them concurrently in one coroutine takes
    about a third less. The metadata is what xarray writes: ``dimension_names``
    and the attributes.
    """
    import asyncio

    import zarr.api.asynchronous as zasync
    from zarr.codecs import ZstdCodec
    from zarr.core.sync import sync

    encoding = _chunks(ds)

    async def write() -> None:
        root = await zasync.open_group(store=url, mode="w-", zarr_format=3, attributes=dict(ds.attrs))

        async def one(name: str, var: xr.Variable) -> None:
            values = np.asarray(var.values)
            text = values.dtype.kind in "OU"
            fill: Any = "" if text else (np.nan if values.dtype.kind == "f" else 0)
            array = await root.create_array(
                name, shape=values.shape, dtype=str if text else values.dtype,
                chunks=encoding.get(name, {}).get("chunks", values.shape),
                compressors=(ZstdCodec(level=3),), fill_value=fill,
                chunk_key_encoding={"name": "default", "separator": CHUNK_SEPARATOR},
                attributes=dict(var.attrs), dimension_names=[str(d) for d in var.dims])
            await array.setitem(Ellipsis, values.astype(str) if text else values)

        await asyncio.gather(*(one(str(n), v) for n, v in ds.variables.items()))

    sync(write())


def _write_group_local(path: str, ds: xr.Dataset) -> None:
    """Write ``ds`` as a Zarr v3 group on a local disk, directly: the same files zarr writes.

    zarr-python spends ~1.5 ms of event-loop work per array; a run has 23 small
    arrays, so writing a story run through it costs ~35 ms, more than the
    run's simulation. Here each array is one ``zarr.json`` (the metadata zarr
    itself writes: regular chunk grid, ``.``-separated chunk keys, bytes or
    vlen-utf8 then zstd) and its chunk files, encoded with the numcodecs codecs
    zarr uses. ``tests/results`` read every run back through zarr and xarray.
    """
    from numcodecs import VLenUTF8, Zstd

    zstd = Zstd(level=3, checksum=False)
    encoding = _chunks(ds)
    os.makedirs(path)
    _write_json(os.path.join(path, "zarr.json"),
                {"attributes": dict(ds.attrs), "zarr_format": 3, "node_type": "group"})
    for name, var in ds.variables.items():
        values = np.asarray(var.values)
        text = values.dtype.kind in "OU"
        chunks = tuple(encoding.get(str(name), {}).get("chunks", values.shape)) if values.ndim else ()
        if text:
            fill: str | int
            dtype, fill, codecs = "string", "", [{"name": "vlen-utf8", "configuration": {}}]
        else:
            dtype = values.dtype.name
            fill = "NaN" if values.dtype.kind == "f" else 0
            codecs = [{"name": "bytes", "configuration": {"endian": "little"}}]
        codecs.append({"name": "zstd", "configuration": {"level": 3, "checksum": False}})
        array_dir = os.path.join(path, str(name))
        os.makedirs(array_dir)
        _write_json(os.path.join(array_dir, "zarr.json"), {
            "shape": list(values.shape), "data_type": dtype,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": CHUNK_SEPARATOR}},
            "fill_value": fill, "codecs": codecs, "attributes": dict(var.attrs),
            "dimension_names": [str(d) for d in var.dims], "zarr_format": 3, "node_type": "array",
            "storage_transformers": [],
        })
        grid = [range(0, n, c) for n, c in zip(values.shape, chunks, strict=True)]
        for corner in itertools.product(*grid):
            block = values[tuple(slice(a, a + c) for a, c in zip(corner, chunks, strict=True))]
            if text:
                raw = VLenUTF8().encode(np.asarray(block, dtype=object).ravel())
            else:
                if block.shape != chunks:  # edge chunks are stored whole, padded with the fill value
                    full = np.full(chunks, np.nan if values.dtype.kind == "f" else 0, values.dtype)
                    full[tuple(slice(0, n) for n in block.shape)] = block
                    block = full
                raw = np.ascontiguousarray(block, dtype=block.dtype.newbyteorder("<")).tobytes()
            key = os.path.join(array_dir, CHUNK_SEPARATOR.join(
                ["c", *(str(a // c) for a, c in zip(corner, chunks, strict=True))]))
            with open(key, "wb") as f:
                f.write(zstd.encode(raw))


def _write_json(path: str, data: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2, allow_nan=False)


def _tmp_run_id(name: str) -> str:
    """Return the run id of a temporary group name ``.tmp-<run_id>-<8 hex>``."""
    return name[len(TMP):-9]


class SweepStore:
    """A takeoff sweep store on a local path or an fsspec URL.

    Parameters
    ----------
    path_or_url
        Where the store is (``results.zarr``, ``file:///...``, ``memory://...``).
    create
        Create the store if nothing is there. With ``create=False`` (reading) a
        missing store is an error.

    Raises
    ------
    StoreError
        If the path is a file or inside one, cannot be written, holds something
        that is not a takeoff store, or a store of another schema version.
        Nothing at the path is changed when the store is refused.

    Examples
    --------
    >>> store = SweepStore(tmp_path / "results.zarr")  # doctest: +SKIP
    >>> store.status()  # doctest: +SKIP
    {}
    """

    def __init__(self, path_or_url: str | os.PathLike[str], *, create: bool = True) -> None:
        self.url = os.fspath(path_or_url)
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError) as err:  # a protocol whose package is absent, or unknown
            raise StoreError(f"cannot open the store {self.url!r}: {err}") from err
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            self.root = os.path.abspath(self.root)
        #: The store's provenance (``schema_version``, ``package_version``, ``git_revision``, ``created``).
        self.attrs: dict[str, Any] = self._open(create)

    def __repr__(self) -> str:
        return f"SweepStore({self.url!r})"

    # -- paths ---------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def url_of(self, *parts: str) -> str:
        """Return the path or URL of a node of the store, for xarray/zarr to open."""
        if self.local:
            return self._path(*parts)
        return str(self.fs.unstrip_protocol(self._path(*parts)))

    # -- opening -------------------------------------------------------------------------
    def _open(self, create: bool) -> dict[str, Any]:
        fs, root = self.fs, self.root
        if self.local:
            self._check_local_path(create)
        elif fs.isfile(root):
            raise StoreError(f"store path {self.url!r} is a file, not a directory; "
                             f"choose a new or existing store directory")
        entries = [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(root, detail=False)] \
            if fs.isdir(root) else []
        # A store another process is creating right now holds only its temporary root metadata.
        if entries and not all(e.startswith(f"{TMP}zarr.json") for e in entries):
            return self._check_existing()
        if not create:
            raise StoreError(f"no takeoff store at {self.url!r} (nothing there); "
                             f"give the path of a store written by takeoff")
        return self._create()

    def _check_local_path(self, create: bool) -> None:
        root = self.root
        if os.path.isfile(root):
            raise StoreError(f"store path {self.url!r} is a file, not a directory; "
                             f"choose a new or existing store directory")
        parent = root
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if os.path.isfile(parent):
            raise StoreError(f"store path {self.url!r} lies inside the file {parent!r}; "
                             f"a store must be a directory")
        if create and not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"store path {self.url!r} is not writable ({parent!r} does not allow "
                             f"writing); choose a directory you can write to")

    def _check_existing(self) -> dict[str, Any]:
        meta = self._path("zarr.json")
        attrs: dict[str, Any] = {}
        if self.fs.isfile(meta):
            try:
                with self.fs.open(meta, "r") as f:
                    attrs = json.load(f).get("attributes", {})
            except (OSError, ValueError, AttributeError):
                attrs = {}
        info = attrs.get(MARKER)
        if not isinstance(info, dict):
            raise StoreError(
                f"{self.url!r} exists and is not a takeoff store (no {MARKER!r} marker in its zarr.json); "
                f"refusing to write into it or change anything there: choose another store= path"
            )
        version = info.get("schema_version")
        if version != schema.SCHEMA_VERSION:
            raise StoreError(f"{self.url!r} is a takeoff store of schema version {version}; "
                             f"this takeoff reads and writes version {schema.SCHEMA_VERSION} only: "
                             f"use the takeoff version that wrote it, or a new store path")
        return info

    def _create(self) -> dict[str, Any]:
        info = {
            "schema_version": schema.SCHEMA_VERSION,
            "package_version": package_version(),
            **git_state(),
            "created": now(),
        }
        # The root group's metadata, written by hand so that it appears in one step:
        # Zarr v3 group metadata is this JSON document (zarr-specs, v3 core, "group metadata").
        meta = {"zarr_format": 3, "node_type": "group", "attributes": {MARKER: info}}
        try:
            self.fs.makedirs(self.root, exist_ok=True)
            self._put_text(self._path("zarr.json"), json.dumps(meta, indent=1))
            for sub in SUBDIRS:
                self.fs.makedirs(self._path(sub), exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create a store at {self.url!r}: {err.strerror or err}") from err
        log.info("created sweep store %s", self.url)
        return info

    def _put_text(self, path: str, text: str) -> None:
        """Write a small file in one step (tmp + rename locally; one object put elsewhere)."""
        if not self.local:
            self.fs.pipe_file(path, text.encode())
            return
        directory, name = os.path.split(path)
        tmp = os.path.join(directory, f"{TMP}{name}-{uuid.uuid4().hex[:8]}")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)

    # -- writing -------------------------------------------------------------------------
    def write_run(self, run_id: str, ds: xr.Dataset, *, params: Mapping[str, Any], config_yaml: str,
                  overrides: Sequence[str], config: Mapping[str, Any] | None = None) -> bool:
        """Write one run atomically; do nothing if it is already complete.

        Parameters
        ----------
        run_id
            The run's config hash (:func:`run_id`).
        ds
            The run's Dataset (:func:`results.schema.run_dataset`).
        params
            The run's swept or overridden parameters by Hydra key, with natural
            types (bool, int, float, str).
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

        Examples
        --------
        >>> store.write_run(rid, ds, params={"loop.guard.mode": "none"}, config_yaml=text,
        ...                 overrides=["loop.guard.mode=none"])  # doctest: +SKIP
        True
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
        group = f"{TMP}{run_id}-{uuid.uuid4().hex[:8]}"
        if self.local:
            _write_group_local(self._path(RUNS, group), out)
        else:
            _write_group(self.url_of(RUNS, group), out)
        wrote = self._publish(run_id, group)
        log.info("run %s %s in %s", run_id, "written" if wrote else "was already", self.url)
        return wrote

    def _publish(self, run_id: str, group: str) -> bool:
        """Make a fully written run visible; the first writer of a run wins."""
        if self.local:
            final = self._path(RUNS, run_id)
            try:
                os.rename(self._path(RUNS, group), final)
            except OSError:
                # Another writer published the same run first (same config, same data):
                # drop our copy, which only we wrote.
                shutil.rmtree(self._path(RUNS, group), ignore_errors=True)
                self._put_text(self._path(DONE, run_id), run_id)
                return False
            self._put_text(self._path(DONE, run_id), run_id)
            return True
        # No atomic rename: the marker, one object written after the last chunk, names our group.
        self._put_text(self._path(DONE, run_id), group)
        return True

    def write_failure(self, run_id: str, *, params: Mapping[str, Any], config_yaml: str,
                      overrides: Sequence[str], error: str) -> None:
        """Record that a run failed, with its error message.

        A failure record never hides a complete run: :meth:`status` says
        ``"done"`` for a run that is complete, whatever failed before.

        Examples
        --------
        >>> store.write_failure(rid, params={}, config_yaml="", overrides=[],
        ...                     error="RuntimeError: boom")  # doctest: +SKIP
        """
        record = {"run_id": run_id, "params": dict(params), "config_yaml": config_yaml,
                  "overrides": list(overrides), "error": error, "created": now()}
        self._put_text(self._path(FAILED, f"{run_id}.json"), json.dumps(record, default=str, indent=1))
        log.info("run %s recorded as failed in %s: %s", run_id, self.url, error)

    def forget(self, run_id: str) -> None:
        """Remove a run this store holds, for a forced rerun (the store wrote it, so it may)."""
        group = self._group(run_id)
        for path in (self._path(DONE, run_id), self._path(RUNS, group), self._path(RUNS, run_id),
                     self._path(FAILED, f"{run_id}.json")):
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)

    # -- reading -------------------------------------------------------------------------
    def _names(self, sub: str) -> list[str]:
        path = self._path(sub)
        if not self.fs.isdir(path):
            return []
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]

    def is_done(self, run_id: str) -> bool:
        """Return True if run ``run_id`` is complete in the store."""
        if self.local:
            # Published (renamed into place) means complete, even if the writer was
            # killed before it wrote the done marker.
            return os.path.isfile(self._path(RUNS, run_id, "zarr.json"))
        return bool(self.fs.isfile(self._path(DONE, run_id)))

    def done_runs(self) -> list[str]:
        """Return the ids of the complete runs, sorted."""
        if self.local:
            return sorted(n for n in self._names(RUNS) if not n.startswith(TMP)
                          and os.path.isfile(self._path(RUNS, n, "zarr.json")))
        return sorted(n for n in self._names(DONE) if not n.startswith(TMP))

    def _group(self, run_id: str) -> str:
        """Return the name of the group under ``runs/`` that holds a complete run."""
        if self.local:
            return run_id
        path = self._path(DONE, run_id)
        if not self.fs.isfile(path):
            return run_id
        return str(self.fs.cat_file(path).decode().strip())

    def partial_runs(self) -> list[str]:
        """Return the ids of runs being written or left incomplete by a killed writer."""
        done = set(self.done_runs())
        groups = {self._group(r) for r in done} if not self.local else set()
        return sorted({_tmp_run_id(n) for n in self._names(RUNS)
                       if n.startswith(TMP) and n not in groups and _tmp_run_id(n) not in done})

    def failed_runs(self) -> dict[str, dict[str, Any]]:
        """Return the failure records of runs that failed and never completed, by run id."""
        done = set(self.done_runs())
        out: dict[str, dict[str, Any]] = {}
        for name in self._names(FAILED):
            if name.startswith(TMP) or not name.endswith(".json"):
                continue
            rid = name[: -len(".json")]
            if rid in done:
                continue
            with self.fs.open(self._path(FAILED, name), "r") as f:
                out[rid] = json.load(f)
        return out

    def status(self) -> dict[str, str]:
        """Return ``run_id -> "done" | "failed"`` for every run the store knows.

        Examples
        --------
        >>> SweepStore("results.zarr").status()  # doctest: +SKIP
        {'0a1b2c3d4e5f6a7b': 'done', '9f8e7d6c5b4a3f2e': 'failed'}
        """
        out = {rid: "failed" for rid in self.failed_runs()}
        out.update({rid: "done" for rid in self.done_runs()})
        return out

    def open_run(self, run_id: str) -> xr.Dataset:
        """Open one complete run lazily (schema v1, no ``run`` dim)."""
        if not self.is_done(run_id):
            raise StoreError(f"run {run_id!r} is not complete in {self.url!r}")
        ds: xr.Dataset = xr.open_zarr(self.url_of(RUNS, self._group(run_id)), consolidated=False,
                                      chunks={}, zarr_format=3)
        return ds

    def run_entry(self, run_id: str) -> dict[str, Any]:
        """Return what opening a sweep needs of one complete run: group, attrs and coordinates."""
        import zarr

        group_name = self._group(run_id)
        group = zarr.open_group(self.url_of(RUNS, group_name), mode="r", zarr_format=3)
        attrs: dict[str, Any] = dict(group.attrs)
        coords = {name: np.asarray(zarr.open_array(self.url_of(RUNS, group_name, name), mode="r")[...])
                  .tolist() for name in (schema.SEED, schema.CYCLE, schema.DOMAIN)}
        return {
            "group": group_name,
            "params": json.loads(str(attrs.get("params") or "{}")),
            "config": json.loads(str(attrs.get("config") or "{}")),
            "config_yaml": attrs.get("config_yaml", ""),
            "overrides": json.loads(str(attrs.get("overrides") or "[]")),
            "coords": {k: [str(x) for x in v] if k == schema.DOMAIN else [int(x) for x in v]
                       for k, v in coords.items()},
        }

    def index(self) -> dict[str, dict[str, Any]]:
        """Return the entries of the complete runs: from ``index.json``, read afresh where missing."""
        ids = self.done_runs()
        stored: dict[str, Any] = {}
        path = self._path(INDEX)
        if self.fs.isfile(path):
            try:
                with self.fs.open(path, "r") as f:
                    stored = json.load(f)
            except ValueError:
                log.warning("ignoring an unreadable sweep index %s", path)
        if stored.get("schema_version") != schema.SCHEMA_VERSION:
            stored = {}
        grids = stored.get("grids", [])
        runs = stored.get("runs", {})
        out: dict[str, dict[str, Any]] = {}
        for rid in ids:
            entry = runs.get(rid)
            if isinstance(entry, dict) and (self.local or entry.get("group") == self._group(rid)):
                out[rid] = {**entry, "coords": grids[entry["grid"]]}
            else:
                out[rid] = self.run_entry(rid)
        return out

    def consolidate(self) -> None:
        """Write the sweep index, so that opening a sweep of many runs reads one file.

        Call it once at the end of a sweep (the launcher does). Runs completed
        later are still found; they are read one by one until the next call.

        Examples
        --------
        >>> SweepStore("results.zarr").consolidate()  # doctest: +SKIP
        """
        entries = self.index()
        grids: list[dict[str, list[Any]]] = []
        runs: dict[str, Any] = {}
        for rid, entry in entries.items():
            coords = entry.pop("coords")
            if coords not in grids:
                grids.append(coords)
            runs[rid] = {**entry, "grid": grids.index(coords)}
        index = {"schema_version": schema.SCHEMA_VERSION, "written": now(), "grids": grids, "runs": runs}
        self._put_text(self._path(INDEX), json.dumps(index, default=str))
        log.info("consolidated %d runs in %s", len(runs), self.url)

    # -- the design of a design sweep ------------------------------------------------------
    def write_design(self, design: Mapping[str, Any]) -> None:
        """Record the experimental design of a design sweep (``design.json``, written in one step).

        The design sweeper calls it after its jobs ran: method, size, seed,
        parameters and ranges, the grid's cells, and each row of the design
        with its overrides (``harness.design.plan.Plan.record``). A later
        design sweep on the same store replaces it.
        """
        self._put_text(self._path(DESIGN), json.dumps(design, allow_nan=False))

    def design(self) -> dict[str, Any] | None:
        """Return the recorded design (see :meth:`write_design`), or None if the store has none."""
        path = self._path(DESIGN)
        if not self.fs.isfile(path):
            return None
        with self.fs.open(path, "r") as f:
            record: dict[str, Any] = json.load(f)
        return record
