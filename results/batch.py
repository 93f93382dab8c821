"""A batch of runs as one Zarr group: a ``run`` dimension, few large arrays, sharded and checksummed.

A batch group, written by zarr-python::

    <group>/zarr.json                  attributes: the runs (id, params, overrides, config, ...),
                                       the coordinates (seed, cycle, domain), what each array holds
    <group>/<array>/zarr.json          one array per (part, dims, dtype), shape (run, variable, *dims)
    <group>/<array>/c.0.0.0...         its shard files: one, or one per :data:`SHARD_BYTES` of runs

Variables of equal dims and dtype are stacked into one array (``trajectory-seed_cycle-float32``
holds every ``(seed, cycle)`` float variable of every run of the batch), so a batch of runs
costs about a dozen files and a dozen zarr writes, whatever its size. Each array is one
shard (Zarr v3 sharding), or for a large batch a few along ``run``, of inner chunks of about
:data:`MIN_CHUNK_ELEMENTS` values or more:
one variable of several runs, or, when every run of the batch fits in fewer, several
variables of every run (zarr encodes inner chunks one by one, at a fixed cost each, so a
batch of 8 story runs is 10 inner chunks, not 74). A reader decodes only the inner chunks
that hold what it asks for; every inner chunk and the shard index carry zarr's ``crc32c``
codec, which zarr checks on every read.

The parts of a run are its trajectory (the schema's variables, dims seed, cycle,
domain), the analysis of its worlds (along seed) and the per-run curve means the
report draws (along cycle).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from results import schema

#: The parts of a run a batch group can hold.
TRAJECTORY, ANALYSIS, CURVES = "trajectory", "analysis", "curves"
PARTS = (TRAJECTORY, ANALYSIS, CURVES)
#: Inner chunks hold at least this many elements (1 MB of float32) where a batch has them: several
#: runs of a variable, then several variables (zarr encodes inner chunks one by one, at a fixed
#: cost each: about 0.5 ms on the 2-core machine, as long as compressing 1 MB takes), ...
MIN_CHUNK_ELEMENTS = 1 << 18
#: ... and at most this many (a long run's variable is split along ``cycle``).
CHUNK_ELEMENTS = 1 << 20
#: A shard holds at most about this many bytes of runs (more only where one inner chunk of runs
#: does): each shard is stacked and written from its own block of memory, and a block this size
#: comes from the heap of a worker (:data:`harness.launcher.cluster.MALLOC`: blocks up to 32 MiB),
#: which keeps it for the next batch. One block per array of a batch of 160 story runs (70 MB)
#: was mapped afresh for every batch and faulted in, page by page, as it was filled: stacking took
#: 1.0-1.7 ms a run in a sweep, against 0.1 ms from the heap.
SHARD_BYTES = 1 << 24
#: Chunk keys ``c.0.1`` rather than ``c/0/1``: no nested directories inside an array.
CHUNK_SEPARATOR = "."


@dataclass(frozen=True)
class RunRecord:
    """One run as the store keeps it: its data parts and its identity.

    Attributes
    ----------
    run_id
        The run's identity hash.
    data
        The trajectory (:func:`results.schema.run_dataset`; dims seed, cycle, domain).
    params
        The run's overridden parameters by Hydra key, with natural types.
    overrides
        The command-line overrides that made the run.
    config
        The resolved config as plain data.
    analysis
        The analysis of each world (variables along ``seed``), or None.
    curves
        Per-run means over seeds of the curves the report draws (along ``cycle``), or None.
    info
        Further per-run facts to keep (for example ``analysis_digest``), JSON-able.
    """

    run_id: str
    data: xr.Dataset
    params: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[str] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    analysis: xr.Dataset | None = None
    curves: xr.Dataset | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Bytes of the run's parts (uncompressed)."""
        return sum(int(part.nbytes) for part in self.parts().values())

    def parts(self) -> dict[str, xr.Dataset]:
        """Return the run's present parts by name."""
        out = {TRAJECTORY: self.data, ANALYSIS: self.analysis, CURVES: self.curves}
        return {k: v for k, v in out.items() if v is not None}


@functools.lru_cache(maxsize=64)
def _dtype_name(dtype: np.dtype[Any]) -> str:  # numpy's dtype.name is slow: asked for every variable
    return "str" if dtype.kind in "OUT" else dtype.name


def _stacks(ds: xr.Dataset, part: str) -> dict[str, list[str]]:
    """Return the array name of each (dims, dtype) of a part's variables, with its variables in order."""
    out: dict[str, list[str]] = {}
    variables = ds.variables  # Variables, not DataArrays: no DataArray built per variable and run
    for name in ds.data_vars:
        var = variables[name]
        dims = "_".join(str(d) for d in var.dims) or "scalar"
        out.setdefault(f"{part}-{dims}-{_dtype_name(var.dtype)}", []).append(str(name))
    return out


def layout(record: RunRecord) -> tuple[Any, ...]:
    """Return a key that is equal for runs that can share a batch group (same coords and variables).

    A tuple of the coordinates' bytes and, per part, each variable's name, dims,
    dtype and shape: hashing it costs microseconds, where a JSON text of the
    same facts cost 0.4 ms a run.
    """
    variables = record.data.variables
    coords = []
    for d in (schema.SEED, schema.CYCLE, schema.DOMAIN):
        values = variables[d].values
        text = values.dtype.kind == "O"  # the domains' names
        coords.append((d, values.dtype.str, tuple(values.tolist()) if text else values.tobytes()))
    parts = []
    for part, pds in record.parts().items():
        pvars = pds.variables
        # Text of any width is one kind: runs of one layout may hold strings of different widths.
        parts.append((part, tuple((name, pvars[name].dims, _dtype_name(pvars[name].dtype), pvars[name].shape)
                                  for name in pds.data_vars)))
    return tuple(coords), tuple(parts)


def _chunking(shape: tuple[int, ...], dims: Sequence[str],
              itemsize: int = 4) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Return (inner chunk, shard) shapes of a stacked array ``(run, variable, *dims)``.

    A shard holds every variable of as many runs as fit in :data:`SHARD_BYTES`
    (values of ``itemsize`` bytes), in whole inner chunks: all the runs of a
    small batch, a few shards along ``run`` for a large one.
    """
    runs, rest = shape[0], list(shape[2:])
    per = max(1, math.prod(rest))
    inner = [max(1, n) for n in rest]
    if per > CHUNK_ELEMENTS and schema.CYCLE in dims:
        axis = list(dims).index(schema.CYCLE)
        others = per // max(1, rest[axis])
        inner[axis] = max(1, min(rest[axis], CHUNK_ELEMENTS // max(1, others)))
    k = max(1, min(runs, MIN_CHUNK_ELEMENTS // per))
    # Every run of a small batch fits in one inner chunk of a variable: take several variables
    # per inner chunk instead (zarr encodes inner chunks one by one, at a fixed cost each).
    v = max(1, min(shape[1], MIN_CHUNK_ELEMENTS // (runs * per))) if k == runs and inner == rest else 1
    chunk = (k, v, *inner)
    shard = [max(1, math.ceil(n / c)) * c for n, c in zip(shape, chunk, strict=True)]
    run_bytes = itemsize * math.prod(shard[1:])  # one run's row of a shard
    shard[0] = min(shard[0], k * max(1, SHARD_BYTES // (k * run_bytes)))
    return chunk, tuple(shard)


def group_attributes(records: Sequence[RunRecord], created: str) -> dict[str, Any]:
    """Return the attributes of a batch group: its runs, coordinates and arrays.

    ``runs`` is columnar: ``run_id``, ``params``, ``overrides``, ``config`` (JSON
    text), ``model_digest`` and each key of the runs' ``info``, one list each.
    """
    first = records[0]
    coords = first.data.variables
    arrays: dict[str, Any] = {}
    for part, pds in first.parts().items():
        pvars = pds.variables
        for name, variables in _stacks(pds, part).items():
            arrays[name] = {
                "part": part,
                "dims": [str(d) for d in pvars[variables[0]].dims],
                "variables": variables,
                "attrs": {v: {k: str(x) for k, x in pvars[v].attrs.items()} for v in variables},
            }
    runs: dict[str, list[Any]] = {
        "run_id": [r.run_id for r in records],
        "params": [dict(r.params) for r in records],
        "overrides": [list(r.overrides) for r in records],
        # The config as JSON text: opening a sweep of 10^5 runs parses it only where needed.
        "config": [json.dumps(dict(r.config), sort_keys=True, default=str) for r in records],
        "model_digest": [str(r.config.get("model_digest", "") or "") for r in records],
    }
    for key in sorted({k for r in records for k in r.info}):
        runs[key] = [r.info.get(key) for r in records]
    return {
        "created": created,
        "runs": runs,
        "coords": {
            schema.SEED: [int(x) for x in coords[schema.SEED].values],
            schema.CYCLE: [int(x) for x in coords[schema.CYCLE].values],
            schema.DOMAIN: [str(x) for x in coords[schema.DOMAIN].values],
        },
        "arrays": arrays,
    }


def write_group(url: str, records: Sequence[RunRecord], attributes: Mapping[str, Any]) -> None:
    """Write runs of one layout as a new Zarr v3 group at ``url`` (which must not exist).

    zarr-python creates the group, then every array at once (``create_hierarchy``;
    sharding codec, inner chunks ``bytes`` -> ``blosc`` (lz4, shuffle) -> ``crc32c``, index
    ``bytes`` -> ``crc32c``), and writes each shard of each array from its own
    block of runs (:data:`SHARD_BYTES`); the shards are written concurrently in
    zarr's event loop.
    """
    import zarr
    import zarr.api.asynchronous as zasync
    from zarr.core.sync import sync

    arrays: Mapping[str, Any] = attributes["arrays"]

    def stacked(spec: Mapping[str, Any], runs: Sequence[RunRecord], like: xr.Variable) -> np.ndarray:
        # Each variable of each run copied once, straight into the block zarr writes; ``like``
        # is the first run's first variable, whose shape and dtype every one of them has.
        names = spec["variables"]
        parts = [r.parts()[spec["part"]] for r in runs]
        # Text as objects: runs of one layout may hold strings of different widths.
        out = np.empty((len(runs), len(names), *like.shape),
                       dtype=object if like.dtype.kind in "OUT" else like.dtype)
        rows: dict[int, int] = {}  # runs that share a Dataset (benchmarks) share its row
        for i, ds in enumerate(parts):
            if id(ds) in rows:
                out[i] = out[rows[id(ds)]]
                continue
            rows[id(ds)] = i
            variables = ds.variables
            for j, v in enumerate(names):
                out[i, j] = variables[v].values
        return out.astype(str) if out.dtype == object else out

    # Stacked here, not in zarr's event loop, which then only encodes and writes: a block per shard.
    metadata = {}
    blocks: list[tuple[str, slice, np.ndarray]] = []
    for name, spec in arrays.items():
        dims = tuple(spec["dims"])
        var = records[0].parts()[spec["part"]].variables[spec["variables"][0]]
        shape = (len(records), len(spec["variables"]), *var.shape)
        chunk, shard = _chunking(shape, dims, var.dtype.itemsize)
        metadata[name] = _array_metadata(name, shape, _dtype_name(var.dtype), dims, chunk, shard)
        for lo in range(0, len(records), shard[0]):
            rows = slice(lo, min(lo + shard[0], len(records)))
            blocks.append((name, rows, stacked(spec, records[rows], var)))

    async def write() -> None:
        root = await zasync.open_group(store=url, mode="w-", zarr_format=3, attributes=dict(attributes))
        where = {"/".join(p for p in (root.store_path.path, name) if p): name for name in metadata}
        made: dict[str, Any] = {}
        async for path, node in zasync.create_hierarchy(
                store=root.store_path.store, nodes={path: metadata[name] for path, name in where.items()}):
            if path in where:
                made[where[path]] = node
        await asyncio.gather(*(made[name].setitem(rows, values) for name, rows, values in blocks))

    # Metadata as compact JSON: zarr's default indent makes json use its pure-Python encoder.
    # Every chunk written, even one of fill values only: zarr would otherwise compare each inner
    # chunk with the fill value before encoding it, a pass over every value.
    with zarr.config.set({"json_indent": None, "array.write_empty_chunks": True}):
        sync(write())


def compressors() -> tuple[Any, ...]:
    """Return the codecs of an inner chunk after its bytes: Blosc's LZ4 after a byte shuffle, then ``crc32c``.

    On 100 story runs' trajectories (float32) LZ4 made 202 KB a run where zstd at
    level 1 made 199 KB, and the batch's write took 2.9 ms of CPU a run against
    4.0 ms (medians of 7, side by side). zarr records the codecs in each array's
    metadata, so groups written with zstd read as before.
    """
    from zarr.codecs import BloscCodec, Crc32cCodec

    return BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), Crc32cCodec()


@functools.lru_cache(maxsize=256)
def _array_metadata(name: str, shape: tuple[int, ...], dtype: str, dims: tuple[str, ...],
                    chunk: tuple[int, ...], shard: tuple[int, ...]) -> Any:
    """Return the Zarr v3 metadata of a stacked array, as zarr's ``create_array`` makes it.

    zarr makes the metadata of an array of this name, dtype and dims once
    (:func:`_zarr_metadata`); an array of another size is that metadata with its
    shape, shard and inner chunk. Making it with ``create_array`` took 2 ms an
    array, and a sweep's last batches each have a size not seen before.
    ``tests/results/test_store.py`` holds the two equal for many sizes.
    """
    from zarr.core.chunk_grids import RegularChunkGrid

    ones = (1,) * len(shape)
    base = _zarr_metadata(name, ones, dtype, dims, ones, ones)
    sharding = dataclasses.replace(base.codecs[0], chunk_shape=chunk)
    return dataclasses.replace(base, shape=shape, chunk_grid=RegularChunkGrid(chunk_shape=shard),
                               codecs=(sharding,))


@functools.lru_cache(maxsize=64)
def _zarr_metadata(name: str, shape: tuple[int, ...], dtype: str, dims: tuple[str, ...],
                   chunk: tuple[int, ...], shard: tuple[int, ...]) -> Any:
    """Return the metadata zarr's ``create_array`` makes for a stacked array of these sizes.

    zarr builds it in memory (a ``MemoryStore``): the sharding codec, inner chunks
    ``bytes`` -> :func:`compressors`, index ``bytes`` -> ``crc32c``.
    """
    import zarr.api.asynchronous as zasync
    from zarr.core.sync import sync
    from zarr.storage import MemoryStore

    text = dtype == "str"
    fill: Any = "" if text else (np.nan if np.dtype(dtype).kind == "f" else -1)

    async def make() -> Any:
        group = await zasync.open_group(store=MemoryStore(), mode="w-", zarr_format=3)
        array = await group.create_array(
            name, shape=shape, dtype=str if text else np.dtype(dtype), chunks=chunk, shards=shard,
            compressors=compressors(), fill_value=fill,
            chunk_key_encoding={"name": "default", "separator": CHUNK_SEPARATOR},
            dimension_names=[schema.RUN, f"{name}-variable", *dims])
        return array.metadata

    return sync(make())


@functools.lru_cache(maxsize=256)
def _array(url: str) -> Any:
    # Published groups never change, so an opened array (its metadata) can be kept.
    import zarr

    return zarr.open_array(url, mode="r", zarr_format=3)


def read_rows(group_url: str, array: str, positions: Sequence[int], variable: int | None) -> np.ndarray:
    """Return ``(len(positions), *dims)`` values of one variable of runs of a batch group.

    With ``variable`` None: every variable of the stacked array,
    ``(len(positions), variables, *dims)``. zarr reads only the inner chunks
    that hold them and checks their ``crc32c``.
    """
    arr = _array(f"{group_url}/{array}")
    index = np.asarray(positions, dtype=np.intp)
    which: int | slice = slice(None) if variable is None else variable
    if len(index) == 1:
        values = np.asarray(arr[int(index[0]), which])[np.newaxis]
    else:
        values = np.asarray(arr.oindex[index, which])
    if values.dtype.kind in "OUT" or str(values.dtype).startswith("StringDType"):
        values = values.astype(object)
    return values
