"""The sweep store: batches of runs as Zarr groups, published atomically; planned runs and claims.

Layout of a store at ``PATH`` (schema v2)::

    PATH/zarr.json                   root group (zarr); attrs["takeoff"] marks a takeoff store;
                                     attrs["design"]: a design sweep's design (:meth:`SweepStore.keep_design`)
    PATH/batches/<batch>/            a published batch of runs (:mod:`results.batch`)
    PATH/batches/.tmp-<batch>-<holder>-<8 hex>
                                     a batch being written, or left by a writer that died
    PATH/done/<batch>                written after its group is complete: the group and its run ids
    PATH/failed/<run_id>.json        a failed run: its params, config, overrides and error
    PATH/planned/<sweep>.json        the runs a sweep planned, with their overrides
    PATH/claims/<holder>.json        a live sweep's claim on the runs it computes (:mod:`results.claims`)
    PATH/index.json                  written by :meth:`SweepStore.consolidate`: what opening a sweep needs
    PATH/design.json                 the design, in stores written before it moved into the root
                                     attributes; read, never written

Concurrent writers never share a chunk or a group: each writer writes its batch
into a group of its own under a temporary name. On a local file system it then
renames the group into place (``rename(2)`` is atomic), so a reader sees a batch
whole or not at all, and a killed writer leaves only a ``.tmp-`` group that
readers ignore and the next sweep removes once its writer's claim is dead. On
object stores and other fsspec file systems, where there is no atomic rename,
the ``done/<batch>`` marker (one small object, written after the last chunk)
names the group that holds the batch. Nothing appends along a dimension
(DESIGN section 4).

Stores of schema v1 (``PATH/runs/<run_id>/``, one group per run, no checksums)
are still read; they are never written to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

import fsspec
import numpy as np
import xarray as xr
from fsspec.implementations.local import LocalFileSystem

from results import batch as batches
from results import schema
from results.batch import RunRecord
from results.claims import STALE_S, Holder, is_alive
from results.integrity import file_sizes, foreign_files, group_problem
from results.provenance import git_state, now, package_version
from results.status import Facts, classify

log = logging.getLogger(__name__)

#: Root attribute that marks a takeoff store.
MARKER = "takeoff"
BATCHES, RUNS, FAILED, DONE, PLANNED, CLAIMS = "batches", "runs", "failed", "done", "planned", "claims"
#: Where readers record runs whose chunks failed their checksum (created when first needed).
DAMAGED = "damaged"
TMP, INDEX = ".tmp-", "index.json"
#: Root attribute holding the experimental design of a design sweep (``hydra/sweeper=design``).
DESIGN = "design"
#: Where stores written before the design moved into the root attributes kept it (read, never written).
LEGACY_DESIGN = "design.json"
SUBDIRS = (BATCHES, FAILED, DONE, PLANNED, CLAIMS)
#: The holder part of a temporary group's name when the writer holds no claim (a single run).
NO_CLAIM = "noclaim"
#: Schema versions this takeoff reads; it writes :data:`results.schema.SCHEMA_VERSION` only.
READABLE = (1, schema.SCHEMA_VERSION)


class StoreError(Exception):
    """A store path cannot be used; the message names the path and the reason."""


class DesignConflict(StoreError):
    """The store holds another design than the one a sweep would write; the message says what differs."""


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


def batch_name(run_ids: Sequence[str]) -> str:
    """Return the name of the batch of ``run_ids`` (16 hex digits, whatever their order)."""
    return hashlib.sha256(",".join(sorted(run_ids)).encode()).hexdigest()[:16]


def _tmp_holder(name: str) -> str:
    """Return the holder id of a temporary group name ``.tmp-<batch>-<holder>-<8 hex>``."""
    parts = name[len(TMP):].split("-")
    return parts[1] if len(parts) == 3 else ""


def _v1_runs(rid: str, params: Any, config: Any, overrides: Any) -> dict[str, list[Any]]:
    """Return a schema v1 run's identity in the columnar form of a batch's ``runs``."""
    text = json.dumps(config, sort_keys=True, default=str)
    digest = str(config.get("model_digest", "") or "") if isinstance(config, dict) else ""
    return {"run_id": [rid], "params": [params], "overrides": [overrides], "config": [text],
            "model_digest": [digest]}


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
        that is not a takeoff store, or a store of a schema version this
        takeoff cannot read. Nothing at the path is changed when the store is refused.

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
        self._claimed: dict[str, list[str]] = {}
        self._entries: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"SweepStore({self.url!r})"

    @property
    def version(self) -> int:
        """The store's schema version."""
        return int(self.attrs.get("schema_version", 0))

    # -- paths ---------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def url_of(self, *parts: str) -> str:
        """Return the path or URL of a node of the store, for xarray/zarr to open."""
        if self.local:
            return self._path(*parts)
        return str(self.fs.unstrip_protocol(self._path(*parts)))

    def _names(self, sub: str) -> list[str]:
        path = self._path(sub)
        if self.local:
            try:
                return os.listdir(path)
            except (FileNotFoundError, NotADirectoryError):
                return []
        if not self.fs.isdir(path):
            return []
        return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]

    def _read_json(self, path: str) -> Any:
        with self.fs.open(path, "r") as f:
            return json.load(f)

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
        # A store another process is creating right now holds at most zarr's partial root metadata.
        if entries and not all(e.endswith(".partial") for e in entries):
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
                attrs = self._read_json(meta).get("attributes", {})
            except (OSError, ValueError, AttributeError):
                attrs = {}
        info = attrs.get(MARKER) if isinstance(attrs, dict) else None
        if not isinstance(info, dict):
            raise StoreError(
                f"{self.url!r} exists and is not a takeoff store (no {MARKER!r} marker in its zarr.json); "
                f"refusing to write into it or change anything there: choose another store= path"
            )
        version = info.get("schema_version")
        if version not in READABLE:
            raise StoreError(f"{self.url!r} is a takeoff store of schema version {version}; "
                             f"this takeoff reads versions {list(READABLE)} and writes version "
                             f"{schema.SCHEMA_VERSION}: use the takeoff version that wrote it, "
                             f"or a new store path")
        if version != schema.SCHEMA_VERSION:
            log.warning("%s is a takeoff store of schema v%s: its chunks carry no checksums, so damage "
                        "can go unnoticed; it is read, never written to", self.url, version)
        return info

    def _create(self) -> dict[str, Any]:
        import zarr
        from zarr.errors import ContainsArrayError, ContainsGroupError

        info = {
            "schema_version": schema.SCHEMA_VERSION,
            "package_version": package_version(),
            **git_state(),
            "created": now(),
        }
        try:
            # zarr writes the root group's metadata (on a local disk: to a temporary file, then renamed).
            zarr.open_group(store=self.url_of(), mode="w-", zarr_format=3, attributes={MARKER: info})
        except (ContainsGroupError, ContainsArrayError, FileExistsError):
            return self._check_existing()  # another process created it first
        except OSError as err:
            raise StoreError(f"cannot create a store at {self.url!r}: {err.strerror or err}") from err
        try:
            for sub in SUBDIRS:
                self.fs.makedirs(self._path(sub), exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create a store at {self.url!r}: {err.strerror or err}") from err
        log.info("created sweep store %s", self.url)
        return self._check_existing()

    def check_writable(self) -> None:
        """Raise :class:`StoreError` unless this takeoff may write to the store (its schema version).

        Examples
        --------
        >>> SweepStore("results.zarr").check_writable()  # doctest: +SKIP
        """
        if self.version != schema.SCHEMA_VERSION:
            raise StoreError(f"{self.url!r} is a takeoff store of schema v{self.version}, which this "
                             f"takeoff reads but does not extend; write new runs to a new store= path")

    # -- writing -------------------------------------------------------------------------
    def write_batch(self, records: Sequence[RunRecord], *, holder: str | None = None) -> list[bool]:
        """Write runs as batch groups, each published atomically; one group per layout.

        Runs of equal coordinates and variables share a group; a batch of runs
        of several shapes becomes several groups.

        Parameters
        ----------
        records
            The runs.
        holder
            The id of the claim under which the runs are written (it names the
            temporary group, so the next sweep knows whether its writer lives).

        Returns
        -------
        list of bool
            Per record: True if this call published it, False if another writer
            published the same batch first.

        Examples
        --------
        >>> store.write_batch([RunRecord("0a1b2c3d4e5f6a7b", ds)])  # doctest: +SKIP
        [True]
        """
        self.check_writable()
        by_layout: dict[tuple[Any, ...], list[int]] = {}
        # Runs often share their Datasets (benchmarks): check each distinct one once.
        layouts: dict[tuple[int, ...], tuple[Any, ...]] = {}
        for i, record in enumerate(records):
            key = tuple(id(part) for part in (record.data, record.analysis, record.curves))
            if key not in layouts:
                schema.validate(record.data)
                layouts[key] = batches.layout(record)
            by_layout.setdefault(layouts[key], []).append(i)
        wrote = [False] * len(records)
        for members in by_layout.values():
            group = [records[i] for i in members]
            ids = [r.run_id for r in group]
            name = batch_name(ids)
            tmp = f"{TMP}{name}-{holder or NO_CLAIM}-{uuid.uuid4().hex[:8]}"
            batches.write_group(self.url_of(BATCHES, tmp), group, batches.group_attributes(group, now()))
            published = self._publish(name, tmp, ids)
            for i in members:
                wrote[i] = published
            log.info("batch %s of %d runs %s in %s", name, len(ids),
                     "written" if published else "was already", self.url)
        return wrote

    def write_run(self, run_id: str, ds: xr.Dataset, *, params: Mapping[str, Any], config_yaml: str = "",
                  overrides: Sequence[str], config: Mapping[str, Any] | None = None,
                  analysis: xr.Dataset | None = None, curves: xr.Dataset | None = None) -> bool:
        """Write one run as a batch of one; do nothing if it is already complete.

        Parameters
        ----------
        run_id
            The run's identity hash (:func:`run_id`).
        ds
            The run's Dataset (:func:`results.schema.run_dataset`).
        params
            The run's swept or overridden parameters by Hydra key, with natural
            types (bool, int, float, str).
        config_yaml
            Unused; kept for callers of schema v1 (the config is kept as data and
            its YAML derived from it).
        overrides
            The command-line overrides that made the run.
        config
            The resolved config as plain data, used to fill parameter
            coordinates of runs that did not override a key.
        analysis, curves
            The run's analysis and curve means (see :class:`results.batch.RunRecord`).

        Returns
        -------
        bool
            True if this call wrote the run, False if it was already there.

        Examples
        --------
        >>> store.write_run(rid, ds, params={"loop.guard.mode": "none"},
        ...                 overrides=["loop.guard.mode=none"])  # doctest: +SKIP
        True
        """
        del config_yaml
        if self.is_done(run_id):
            return False
        record = RunRecord(run_id, ds, params=dict(params), overrides=tuple(overrides),
                           config=dict(config or {}),
                           analysis=analysis, curves=curves)
        return self.write_batch([record])[0]

    def _publish(self, name: str, tmp: str, run_ids: Sequence[str]) -> bool:
        """Make a fully written batch visible; the first writer of a batch wins.

        The done marker records the size of every file of the group, which
        :meth:`broken_groups` compares with what is there.
        """
        marker = {"runs": sorted(run_ids),
                  "sizes": file_sizes(self.fs, self._path(BATCHES, tmp), local=self.local)}
        if self.local:
            try:
                os.rename(self._path(BATCHES, tmp), self._path(BATCHES, name))
            except OSError:
                # Another writer published the same batch first (same runs, same data):
                # drop our copy, which only we wrote.
                shutil.rmtree(self._path(BATCHES, tmp), ignore_errors=True)
                if not self.fs.isfile(self._path(DONE, name)):
                    self._put_text(self._path(DONE, name), json.dumps({"group": name, **marker}))
                return False
            self._put_text(self._path(DONE, name), json.dumps({"group": name, **marker}))
            return True
        # No atomic rename: the marker, one object written after the last chunk, names our group.
        if self.fs.isfile(self._path(DONE, name)):
            return False
        self._put_text(self._path(DONE, name), json.dumps({"group": tmp, **marker}))
        return True

    def write_failure(self, run_id: str, *, params: Mapping[str, Any], config_yaml: str = "",
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

    def record_plan(self, runs: Mapping[str, Sequence[str]]) -> None:
        """Record the runs a sweep is about to compute, with their overrides (before any starts).

        Examples
        --------
        >>> store.record_plan({"0a1b2c3d4e5f6a7b": ["loop.guard.mode=none"]})  # doctest: +SKIP
        """
        self.check_writable()
        name = f"{batch_name(list(runs))}.json"
        if self.fs.isfile(self._path(PLANNED, name)):
            return
        self._put_text(self._path(PLANNED, name), json.dumps(
            {"created": now(), "runs": {rid: list(o) for rid, o in runs.items()}}))

    def check_forget(self, run_ids: Collection[str], entries: Mapping[str, Any] | None = None) -> None:
        """Refuse to :meth:`forget` ``run_ids`` when their batch groups hold other runs too.

        A group is removed whole, and a forced rerun recomputes only its own runs:
        the others would be lost.

        Raises
        ------
        StoreError
            Naming the runs outside ``run_ids`` that share a group with them.
        """
        wanted = set(run_ids)
        others: set[str] = set()
        for entry in (self.index() if entries is None else entries).values():
            ids = set(entry["runs"]["run_id"])
            if ids & wanted:
                others |= ids - wanted
        if others:
            named = sorted(others)
            shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
            raise StoreError(
                f"hydra.launcher.rerun=true would remove {len(named)} runs of {self.url} that this sweep "
                f"does not recompute ({shown}): they share batch groups with its runs, and a group is "
                f"replaced whole; rerun the sweep command that wrote them with rerun=true (all of its jobs), "
                f"or write this sweep to another store")

    def forget(self, run_ids: Collection[str]) -> set[str]:
        """Remove the batch groups and failure records holding ``run_ids``, for a forced rerun; return them.

        The store wrote them, so it may. A group that also holds runs outside
        ``run_ids`` is not removed: nothing is (:meth:`check_forget` raises).
        """
        wanted = set(run_ids)
        entries = self.index()
        self.check_forget(wanted, entries)
        for group, entry in entries.items():
            if not wanted & set(entry["runs"]["run_id"]):
                continue
            for path in (self._path(DONE, group), self._path(BATCHES, entry.get("group", group)),
                         self._path(RUNS, group), self._path(DAMAGED, f"{group}.json")):
                if self.fs.exists(path):
                    self.fs.rm(path, recursive=True)
        for rid in wanted:
            path = self._path(FAILED, f"{rid}.json")
            if self.fs.exists(path):
                self.fs.rm(path)
        return wanted

    def remove_broken(self, run_ids: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
        """Remove the damaged groups holding ``run_ids``, so that their runs can be rewritten.

        A group is damaged when :meth:`broken_groups` finds its structure
        broken or a reader recorded a chunk of it failing its checksum
        (:meth:`record_damage`). Only what the store wrote is removed: the
        group's files its done marker lists (for a group published without
        that list, the files of zarr's layout: ``zarr.json`` and chunk keys),
        the done marker and the damage record. A group that holds any other
        file is left as it is, with everything in it. Call under :meth:`lock`.

        Returns
        -------
        removed : list of str
            The paths removed, relative to the store.
        kept : dict
            Run id -> the files, not written by takeoff, that kept its group.
        """
        self.check_writable()
        wanted = set(run_ids)
        markers = self._markers()
        entries = self.index()
        damaged = {name: ids for name, (_, ids, _) in self.broken_groups(entries).items()}
        for name, _ in self._recorded(entries).values():
            damaged.setdefault(name, list(entries[name]["runs"]["run_id"]))
        removed: list[str] = []
        kept: dict[str, list[str]] = {}
        for name, ids in sorted(damaged.items()):
            if not wanted & set(ids):
                continue
            group = str(markers.get(name, {}).get("group", name))
            path = self._path(BATCHES, group)
            sizes = markers.get(name, {}).get("sizes")
            foreign = foreign_files(self.fs, path, sizes, local=self.local) if self.fs.exists(path) else []
            if foreign:
                kept.update(dict.fromkeys(ids, [f"{BATCHES}/{group}/{f}" for f in foreign]))
                continue
            for sub, node in ((BATCHES, group), (DONE, name), (DAMAGED, f"{name}.json")):
                if self.fs.exists(self._path(sub, node)):
                    self.fs.rm(self._path(sub, node), recursive=True)
                    removed.append(f"{sub}/{node}")
        if removed:
            log.info("removed %d damaged groups, markers and records from %s to rewrite their runs",
                     len(removed), self.url)
        return removed, kept

    def record_damage(self, run_ids: Sequence[str], reason: str) -> list[str]:
        """Record that chunks of runs failed when read (a bad checksum), so that a rerun replaces them.

        Readers call it (``takeoff-report``, :func:`results.verify`): only
        reading finds a bad checksum, and :meth:`status` reads no chunk. A
        store this takeoff does not write to, or cannot, is left as it is.

        Returns
        -------
        list of str
            The batch names recorded (``damaged/<name>.json``).
        """
        if self.version != schema.SCHEMA_VERSION:
            return []
        entries = self.index()
        where = self.locations(entries)
        by_name: dict[str, list[str]] = {}
        for rid in run_ids:
            if rid in where:
                by_name.setdefault(where[rid][0], []).append(rid)
        written = []
        known = self._recorded(entries)
        for name, ids in sorted(by_name.items()):
            before = [rid for rid, (where_, _) in known.items() if where_ == name]
            record = {"group": entries[name].get("group", name), "runs": sorted({*before, *ids}),
                      "reason": reason, "found": now()}
            try:
                self.fs.makedirs(self._path(DAMAGED), exist_ok=True)
                self._put_text(self._path(DAMAGED, f"{name}.json"), json.dumps(record, indent=1))
            except OSError as err:
                log.warning("cannot record in %s that runs %s are damaged: %s", self.url, ids, err)
                continue
            written.append(name)
        return written

    def _recorded(self, entries: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, str]]:
        """Return run id -> (batch name, reason) of runs recorded damaged, in groups still published."""
        out: dict[str, tuple[str, str]] = {}
        for file in self._names(DAMAGED):
            name = file.removesuffix(".json")
            if file.startswith(TMP) or name not in entries:
                continue
            try:
                record = self._read_json(self._path(DAMAGED, file))
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("group") == entries[name].get("group", name):
                out.update(dict.fromkeys((str(r) for r in record.get("runs", [])),
                                         (name, str(record.get("reason", "")))))
        return out

    def recorded_damage(self, entries: Mapping[str, Mapping[str, Any]] | None = None
                        ) -> dict[str, tuple[str, list[str]]]:
        """Return run id -> (what failed, its overrides) for the runs readers recorded damaged.

        See :meth:`record_damage`; a record of a group since removed or
        replaced is ignored.
        """
        entries = self.index() if entries is None else entries
        out: dict[str, tuple[str, list[str]]] = {}
        for rid, (name, reason) in self._recorded(entries).items():
            runs = entries[name]["runs"]
            given = dict(zip(runs["run_id"], runs.get("overrides") or [], strict=False))
            out[rid] = (f"found damaged when read: {reason}", list(given.get(rid, [])))
        return out

    # -- claims and leftovers --------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's claim lock (an exclusive ``flock`` on a local disk; nothing elsewhere)."""
        if not self.local:
            yield
            return
        import fcntl

        os.makedirs(self._path(CLAIMS), exist_ok=True)
        with open(self._path(CLAIMS, ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def claims(self) -> dict[str, dict[str, Any]]:
        """Return every claim record in the store, by holder id."""
        out: dict[str, dict[str, Any]] = {}
        for name in self._names(CLAIMS):
            if name.startswith(".") or not name.endswith(".json"):
                continue
            try:
                out[name[:-len(".json")]] = self._read_json(self._path(CLAIMS, name))
            except (OSError, ValueError):
                continue  # removed or being replaced meanwhile
        return out

    def live_claims(self) -> dict[str, dict[str, Any]]:
        """Return the claims held by live processes, by holder id."""
        return {h: rec for h, rec in self.claims().items() if is_alive(rec)}

    def claim(self, holder: Holder, run_ids: Sequence[str]) -> None:
        """Claim ``run_ids`` for ``holder`` (added to what it holds); call under :meth:`lock`."""
        held = self._claimed.setdefault(holder.id, [])
        held.extend(r for r in run_ids if r not in set(held))
        self._put_text(self._path(CLAIMS, f"{holder.id}.json"), json.dumps(holder.record(held, time.time())))

    def refresh(self, holder: Holder) -> None:
        """Refresh ``holder``'s claim (every :data:`results.claims.REFRESH_S` seconds)."""
        self._put_text(self._path(CLAIMS, f"{holder.id}.json"),
                       json.dumps(holder.record(self._claimed.get(holder.id, []), time.time())))

    def release(self, holder: Holder) -> None:
        """Remove ``holder``'s claim (its sweep ended)."""
        self._claimed.pop(holder.id, None)
        path = self._path(CLAIMS, f"{holder.id}.json")
        if self.fs.exists(path):
            self.fs.rm(path)

    def _tmp_groups(self) -> dict[str, str]:
        """Return the temporary groups under ``batches/`` with their holder ids."""
        return {n: _tmp_holder(n) for n in self._names(BATCHES) if n.startswith(TMP)}

    def _age(self, path: str) -> float:
        try:
            return time.time() - float(self.fs.modified(path).timestamp())
        except (OSError, NotImplementedError, AttributeError):
            return float("inf")

    def _writer_dead(self, holder: str, path: str, live: Mapping[str, Any]) -> bool:
        if holder == NO_CLAIM or not holder:
            return self._age(path) > STALE_S
        return holder not in live

    def remove_leftovers(self, *, own: Holder | None = None) -> list[str]:
        """Remove what dead writers left: their ``.tmp-`` groups and files, and their claims.

        A temporary group is removed when its writer's claim is dead (or, for a
        writer that held no claim, when it is older than
        :data:`results.claims.STALE_S`), or when it is ``own``'s (a sweep
        removing its own workers' leftovers at its end). Nothing else is ever
        deleted. Call under :meth:`lock`.

        Returns
        -------
        list of str
            The paths removed, relative to the store.
        """
        every = self.claims()
        live = {h: rec for h, rec in every.items() if is_alive(rec)}
        removed = []
        for name, holder in self._tmp_groups().items():
            path = self._path(BATCHES, name)
            if (own is not None and holder == own.id) or self._writer_dead(holder, path, live):
                self.fs.rm(path, recursive=True)
                removed.append(f"{BATCHES}/{name}")
        for holder in set(every) - set(live):
            self.fs.rm(self._path(CLAIMS, f"{holder}.json"))
            removed.append(f"{CLAIMS}/{holder}.json")
        for sub in (DONE, FAILED, PLANNED, CLAIMS, ""):
            for name in self._names(sub) if sub else self._names(""):
                path = self._path(sub, name) if sub else self._path(name)
                if name.startswith(TMP) and self._age(path) > STALE_S and self.fs.isfile(path):
                    self.fs.rm(path)
                    removed.append(f"{sub}/{name}" if sub else name)
        if removed:
            log.info("removed %d leftovers of dead writers from %s", len(removed), self.url)
        return removed

    # -- reading -------------------------------------------------------------------------
    def _published(self) -> dict[str, str]:
        """Return the published groups: batch name -> group name under ``batches/``."""
        if self.local:
            return {n: n for n in self._names(BATCHES) if not n.startswith(TMP)}
        out = {}
        for name in self._names(DONE):
            if name.startswith(TMP):
                continue
            try:
                out[name] = str(self._read_json(self._path(DONE, name))["group"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    def _group_entry(self, group: str) -> dict[str, Any]:
        """Return a published group's attributes (runs, coords, arrays), read from its ``zarr.json``."""
        entry: dict[str, Any] = self._read_json(self._path(BATCHES, group, "zarr.json"))["attributes"]
        return entry

    def _v1_entry(self, rid: str) -> dict[str, Any]:
        """Return the entry of a schema v1 run group ``runs/<rid>`` in the form of a batch's."""
        import zarr

        attrs = self._read_json(self._path(RUNS, rid, "zarr.json"))["attributes"]
        coords = {name: np.asarray(zarr.open_array(self.url_of(RUNS, rid, name), mode="r")[...]).tolist()
                  for name in (schema.SEED, schema.CYCLE, schema.DOMAIN)}
        return {
            "runs": _v1_runs(rid, json.loads(str(attrs.get("params") or "{}")),
                             json.loads(str(attrs.get("config") or "{}")),
                             json.loads(str(attrs.get("overrides") or "[]"))),
            "coords": {k: [str(x) for x in v] if k == schema.DOMAIN else [int(x) for x in v]
                       for k, v in coords.items()},
            "v1": True,
        }

    def _stored_index(self) -> dict[str, Any]:
        path = self._path(INDEX)
        if self._entries or not self.fs.isfile(path):
            return {}
        try:
            stored: dict[str, Any] = self._read_json(path)
        except (OSError, ValueError):
            log.warning("ignoring an unreadable sweep index %s", path)
            return {}
        if stored.get("schema_version") != self.version:
            return {}
        return stored

    def index(self) -> dict[str, dict[str, Any]]:
        """Return the entry of every published group, by batch name (from ``index.json`` where it is current).

        An entry holds ``runs`` (per run: ``run_id``, ``params``, ``overrides``,
        ``config``, ...), ``coords`` (``seed``, ``cycle``, ``domain``), ``arrays``
        (what each array holds), ``group`` (its name under ``batches/``) and,
        for a schema v1 run, ``v1``.
        """
        stored = self._stored_index()
        if self.version == 1:
            return self._v1_index(stored)
        known: dict[str, Any] = {**stored.get("groups", {}), **self._entries}
        out: dict[str, dict[str, Any]] = {}
        for name, group in sorted(self._published().items()):
            entry = known.get(name)
            if not (isinstance(entry, dict) and entry.get("group") == group):
                try:
                    entry = {**self._group_entry(group), "group": group}
                except (OSError, ValueError, KeyError):
                    log.warning("batch %s in %s has no readable zarr.json; left out", group, self.url)
                    continue
            out[name] = entry
        # A published group never changes (a forced rerun removes it whole): keep what was read.
        self._entries = out
        return out

    def _v1_index(self, stored: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        runs = stored.get("runs", {})
        grids = stored.get("grids", [])
        out: dict[str, dict[str, Any]] = {}
        for rid in sorted(n for n in self._names(RUNS) if not n.startswith(TMP)):
            if not self.fs.isfile(self._path(RUNS, rid, "zarr.json")):
                continue
            old = runs.get(rid)
            if isinstance(old, dict) and "grid" in old:
                out[rid] = {"runs": _v1_runs(rid, old.get("params", {}), old.get("config", {}),
                                             old.get("overrides", [])),
                            "coords": grids[old["grid"]], "v1": True, "group": rid}
            else:
                out[rid] = {**self._v1_entry(rid), "group": rid}
        return out

    def locations(self, entries: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, tuple[str, int]]:
        """Return where each complete run is: run id -> (batch name, position in its group).

        ``entries``: what :meth:`index` returned, if the caller has it already.
        """
        out: dict[str, tuple[str, int]] = {}
        for name, entry in sorted((self.index() if entries is None else entries).items()):
            for position, rid in enumerate(entry["runs"]["run_id"]):
                out.setdefault(rid, (name, position))  # the first group by name wins
        return out

    def is_done(self, run_id: str) -> bool:
        """Return True if run ``run_id`` is complete in the store."""
        return run_id in self.locations()

    def done_runs(self) -> list[str]:
        """Return the ids of the complete runs, sorted."""
        return sorted(self.locations())

    def planned_runs(self) -> dict[str, list[str]]:
        """Return every run a sweep planned in this store, with its overrides."""
        out: dict[str, list[str]] = {}
        for name in self._names(PLANNED):
            if name.startswith(TMP) or not name.endswith(".json"):
                continue
            try:
                out.update(self._read_json(self._path(PLANNED, name)).get("runs", {}))
            except (OSError, ValueError):
                continue
        return out

    def partial_runs(self) -> list[str]:
        """Return the ids of runs left incomplete by a writer that died (not complete since)."""
        return sorted(r for r, s in self.status().items() if s == "incomplete")

    def _incomplete(self, live: Mapping[str, Any]) -> set[str]:
        out: set[str] = set()
        groups = self._tmp_groups().items() if self.version != 1 else \
            ((n, NO_CLAIM) for n in self._names(RUNS) if n.startswith(TMP))
        for name, holder in groups:
            sub = RUNS if self.version == 1 else BATCHES
            if holder not in (NO_CLAIM, "") and holder in live:
                continue  # its writer is alive: being written
            if self.version == 1:
                out.add(name[len(TMP):-9])
                continue
            try:
                entry = self._read_json(self._path(sub, name, "zarr.json"))["attributes"]
                out |= set(entry["runs"]["run_id"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # killed before zarr wrote the group's metadata: its runs are missing
        return out

    def failed_runs(self, done: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Return the failure records of runs that failed and never completed, by run id."""
        done = set(self.locations()) if done is None else done
        out: dict[str, dict[str, Any]] = {}
        for name in self._names(FAILED):
            if name.startswith(TMP) or not name.endswith(".json"):
                continue
            rid = name[: -len(".json")]
            if rid in done:
                continue
            try:
                out[rid] = self._read_json(self._path(FAILED, name))
            except (OSError, ValueError):
                continue
        return out

    def facts(self, entries: Mapping[str, Mapping[str, Any]] | None = None,
              broken: Mapping[str, tuple[str, list[str], list[list[str]]]] | None = None) -> Facts:
        """Return what the store holds about its runs (see :mod:`results.status`).

        ``entries``: what :meth:`index` returned, and ``broken``: what
        :meth:`broken_groups` returned, if the caller has them already.
        """
        live = self.live_claims()
        entries = self.index() if entries is None else entries
        broken = self.broken_groups(entries) if broken is None else broken
        sound = {name: entry for name, entry in entries.items() if name not in broken}
        recorded = self.recorded_damage(sound)
        done = {rid: name for rid, (name, _) in self.locations(sound).items() if rid not in recorded}
        damaged = {rid: reason for reason, ids, _ in broken.values() for rid in ids if rid not in done}
        damaged |= {rid: reason for rid, (reason, _) in recorded.items() if rid not in done}
        return Facts(
            planned=self.planned_runs(),
            done=done,
            failed=self.failed_runs(set(done)),
            running={r for rec in live.values() for r in rec.get("runs", [])},
            incomplete=self._incomplete(live),
            damaged=damaged,
        )

    def _markers(self) -> dict[str, dict[str, Any]]:
        """Return the done markers by batch name (a v1 marker holds only its run id)."""
        out: dict[str, dict[str, Any]] = {}
        for name in self._names(DONE):
            if name.startswith(TMP):
                continue
            path = self._path(DONE, name)
            try:
                text = self.fs.cat_file(path).decode()
            except (OSError, UnicodeDecodeError):
                continue
            try:
                marker = json.loads(text)
            except ValueError:
                marker = None
            out[name] = marker if isinstance(marker, dict) else {"group": name, "runs": [name]}
        return out

    def broken_groups(self, entries: Mapping[str, Mapping[str, Any]] | None = None
                      ) -> dict[str, tuple[str, list[str], list[list[str]]]]:
        """Return the published groups whose structure is broken, without reading a chunk.

        A group is broken when its done marker is there but the group or its
        ``zarr.json`` is not, or when :func:`results.integrity.group_problem`
        finds a file missing, empty or of another size than was written.

        Parameters
        ----------
        entries
            What :meth:`index` returned, if the caller has it already.

        Returns
        -------
        dict
            Batch name -> (what is broken, its run ids, their overrides).

        Examples
        --------
        >>> SweepStore("results.zarr").broken_groups()  # doctest: +SKIP
        {'5e0c...': ('batches/5e0c.../trajectory-seed_cycle-float32/c.0.0.0.0 is missing', [...], [...])}
        """
        entries = self.index() if entries is None else entries
        markers = self._markers()
        planned = self.planned_runs()
        out: dict[str, tuple[str, list[str], list[list[str]]]] = {}
        for name, marker in markers.items():
            if name in entries:
                continue
            sub = RUNS if self.version == 1 else BATCHES
            ids = [str(r) for r in marker.get("runs", [])]
            out[name] = (f"its group {sub}/{marker.get('group', name)} is gone or has no readable zarr.json, "
                         f"though its done marker is there", ids, [list(planned.get(r, [])) for r in ids])
        cache: dict[bytes, list[str]] = {}
        for name, entry in entries.items():
            v1 = bool(entry.get("v1"))
            group = f"{RUNS if v1 else BATCHES}/{entry.get('group', name)}"
            arrays = ([*schema.VARIABLES, schema.SEED, schema.CYCLE, schema.DOMAIN] if v1
                      else list(entry["arrays"]))
            sizes = None if v1 else markers.get(name, {}).get("sizes")
            problem = group_problem(self.fs, self._path(group), arrays, local=self.local, label=group,
                                    sizes=sizes, keys_cache=cache)
            if problem is not None:
                runs = entry["runs"]
                out[name] = (problem, list(runs["run_id"]), [list(o) for o in runs.get("overrides", [])])
        return out

    def status(self, entries: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, str]:
        """Return each run's status: ``done``, ``running``, ``incomplete``, ``failed`` or ``missing``.

        See :func:`results.status.classify`.

        Examples
        --------
        >>> SweepStore("results.zarr").status()  # doctest: +SKIP
        {'0a1b2c3d4e5f6a7b': 'done', '9f8e7d6c5b4a3f2e': 'failed'}
        """
        return classify(self.facts(entries))

    def open_run(self, run_id: str) -> xr.Dataset:
        """Return one complete run's trajectory (dims seed, cycle, domain), read into memory."""
        from results.sweep import open_sweep

        if not self.is_done(run_id):
            raise StoreError(f"run {run_id!r} is not complete in {self.url!r}")
        ds = open_sweep(self.url)
        one = ds.isel({schema.RUN: int(np.flatnonzero(ds[schema.RUN_ID].values == run_id)[0])})
        keep = (schema.SEED, schema.CYCLE, schema.DOMAIN)
        return one.drop_vars([c for c in one.coords if c not in keep]).load()

    def consolidate(self) -> None:
        """Write the sweep index, so that opening a sweep of many batches reads one file.

        Call it once at the end of a sweep (the launcher does). Batches
        completed later are still found; they are read one by one until the
        next call.

        Examples
        --------
        >>> SweepStore("results.zarr").consolidate()  # doctest: +SKIP
        """
        entries = self.index()
        if self.version == 1:
            return  # a v1 store is never written to
        index = {"schema_version": self.version, "written": now(), "groups": entries}
        self._put_text(self._path(INDEX), json.dumps(index, default=str, separators=(",", ":")))
        log.info("consolidated %d batches in %s", len(entries), self.url)

    # -- the design of a design sweep ------------------------------------------------------
    def keep_design(self, design: Mapping[str, Any],
                    differences: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]) -> bool:
        """Record the experimental design of a design sweep in the root attributes, or check it.

        A store holds one design. Under :meth:`lock`, the store's design is
        read: when there is none, ``design`` is written into the root group's
        attributes (``attrs["design"]``, through zarr, which replaces
        ``zarr.json`` in one step on a local disk); when there is one that
        ``differences`` finds no difference with, it is kept as it is (a
        resumed sweep, or a second sweep of the same design); otherwise
        nothing is written and :class:`DesignConflict` says what differs.
        A design a store of before this version kept in ``design.json`` is
        checked the same way and, when equal, copied into the attributes.

        On a file system without :meth:`lock` (object stores), two sweeps of
        different designs started at the same moment may both see no design;
        the design written last is then read back by both, so the other one
        stops unless it had already read its own back.

        Parameters
        ----------
        design
            The design as plain JSON data (``harness.design.plan.Plan.record``).
        differences
            Returns what differs between the recorded design and ``design``
            (one phrase each; empty when they are the same design).

        Returns
        -------
        bool
            True if this call wrote the design, False if the store had it.

        Raises
        ------
        DesignConflict
            If the store holds another design.
        StoreError
            If the store is not writable, or ``design`` is not plain JSON data.

        Examples
        --------
        >>> SweepStore("results.zarr").keep_design(record, plan.differences)  # doctest: +SKIP
        True
        """
        import zarr

        self.check_writable()
        try:
            text = json.dumps(design, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise StoreError(f"the design to record in {self.url!r} is not plain JSON data: {err}") from err
        with self.lock():
            recorded, where = self._design()
            if recorded is not None:
                self._check_same(recorded, design, differences)
                if where == DESIGN:
                    return False
                log.info("copying the design of %s from its %s into its attributes", self.url, LEGACY_DESIGN)
            group = zarr.open_group(store=self.url_of(), mode="r+", zarr_format=3)
            group.attrs.update({DESIGN: json.loads(text) if recorded is None else recorded})
        back, _ = self._design()
        if back is None:
            raise StoreError(f"the design written into the attributes of {self.url!r} cannot be read back")
        self._check_same(back, design, differences)  # another writer's design replaced ours meanwhile
        if recorded is None:
            log.info("recorded the %s design in the attributes of %s", design.get("method"), self.url)
        return recorded is None

    def check_design(self, design: Mapping[str, Any],
                     differences: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]) -> bool:
        """Return True if the store holds ``design``, False if it holds none; write nothing.

        Raises
        ------
        DesignConflict
            If the store holds another design (see :meth:`keep_design`).
        """
        recorded = self.design()
        if recorded is None:
            return False
        self._check_same(recorded, design, differences)
        return True

    def _check_same(self, recorded: Mapping[str, Any], design: Mapping[str, Any],
                    differences: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]) -> None:
        found = differences(recorded, design)
        if not found:
            return
        command = str(recorded.get("command") or "")
        raise DesignConflict(
            f"{self.url!r} holds another design ({_describe(recorded)}); this sweep's design differs in "
            f"{'; '.join(found)}. A store holds one design, so this sweep starts no job: give it a new "
            f"store= (or hydra.sweep.dir=) path"
            + (f", or rerun the stored design with: {command}" if command else ""))

    def _root_attributes(self) -> dict[str, Any]:
        """Return the root group's attributes, read through zarr."""
        import zarr

        return dict(zarr.open_group(store=self.url_of(), mode="r", zarr_format=3).attrs)

    def design(self) -> dict[str, Any] | None:
        """Return the recorded design (see :meth:`keep_design`), or None if the store has none.

        The root attributes' ``design``; for a store written before the design
        moved there, its ``design.json``.

        Examples
        --------
        >>> SweepStore("results.zarr", create=False).design()["method"]  # doctest: +SKIP
        'saltelli'
        """
        return self._design()[0]

    def _design(self) -> tuple[dict[str, Any] | None, str]:
        """Return the recorded design and where it is (:data:`DESIGN` or :data:`LEGACY_DESIGN`)."""
        record = self._root_attributes().get(DESIGN)
        if isinstance(record, dict):
            return record, DESIGN
        path = self._path(LEGACY_DESIGN)
        if not self.fs.isfile(path):
            return None, ""
        try:
            legacy = self._read_json(path)
        except (OSError, ValueError) as err:
            raise StoreError(f"the design file {path!r} of {self.url!r} cannot be read ({err}); rerun the "
                             f"design sweep's command into a new store= path") from err
        return (legacy, LEGACY_DESIGN) if isinstance(legacy, dict) else (None, "")


def _describe(design: Mapping[str, Any]) -> str:
    """Return a design in a few words: method, n, seed and parameter ranges."""
    ranges = ", ".join(f"{p.get('key')}={p.get('text')}" for p in design.get("parameters", []))
    return f"{design.get('method')}, n={design.get('n')}, seed={design.get('seed')}: {ranges}"
