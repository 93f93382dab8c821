"""The structure of a stored group of runs: checked without reading a chunk.

A group is sound when its metadata is there, each array it must hold is there,
every chunk (or shard) key that an array's metadata implies is there, and each
file has the size it had when the group was published. The sizes are recorded
by :func:`file_sizes` just before a group is published (the store keeps them
in the group's done marker); for a group published without them (schema v1)
a chunk must only be present and not empty.

zarr reads a missing chunk as the fill value (NaN), so a deleted chunk would
otherwise turn into numbers; a truncated chunk or shard fails to decode or
fails its checksum only when it is read. Checking sizes finds both cheaply,
with one listing of the group.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any


def _join(local: bool, *parts: str) -> str:
    return os.path.join(*parts) if local else posixpath.join(*(p.rstrip("/") for p in parts))


def file_sizes(fs: Any, path: str, *, local: bool) -> dict[str, int]:
    """Return the size in bytes of every file under ``path``, by path relative to it (``/``-separated).

    Examples
    --------
    >>> import fsspec, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a").mkdir(); _ = (d / "a" / "c.0").write_bytes(b"xyz")
    >>> file_sizes(fsspec.filesystem("file"), str(d), local=True)
    {'a/c.0': 3}
    """
    if local:
        out: dict[str, int] = {}
        for top, _, files in os.walk(path):
            for name in files:
                full = os.path.join(top, name)
                out[os.path.relpath(full, path).replace(os.sep, "/")] = os.path.getsize(full)
        return out
    root = path.rstrip("/")
    found = fs.find(root, detail=True, withdirs=False)
    # fsspec lists paths as url_to_fs strips them, like ``path``: the same prefix.
    return {str(p)[len(root) + 1:]: int(info.get("size") or 0) for p, info in found.items()}


def _chunk_keys(meta: Mapping[str, Any]) -> list[str]:
    """Return every chunk (or shard) key that an array's Zarr v3 metadata implies, through zarr itself."""
    from zarr.core.metadata.v3 import ArrayV3Metadata

    parsed = ArrayV3Metadata.from_dict(dict(meta))
    return [parsed.encode_chunk_key(c) for c in parsed.chunk_grid.all_chunk_coords(parsed.shape)]


def group_problem(fs: Any, path: str, arrays: Iterable[str], *, local: bool, label: str = "",
                  sizes: Mapping[str, int] | None = None,
                  keys_cache: dict[bytes, list[str]] | None = None) -> str | None:
    """Return what is wrong with the structure of a stored group of runs, or None if nothing is.

    No chunk is read: the group's files are listed once (and, without recorded
    sizes, each array's metadata is read).

    Parameters
    ----------
    fs, path, local
        The file system (fsspec), the group's path on it, and whether it is a local disk.
    arrays
        The arrays the group must hold.
    label
        How to name the group in the message (its path inside the store).
    sizes
        The byte size of every file of the group, by path relative to it, as
        :func:`file_sizes` recorded them when the group was published; None
        when none were recorded.
    keys_cache
        Chunk keys by array metadata, shared between calls (groups of one
        layout share their arrays' metadata).

    Returns
    -------
    str or None
        One sentence naming the first broken file, or None.
    """
    label = label or path
    try:
        found = file_sizes(fs, path, local=local)
    except (OSError, ValueError) as err:
        return f"its group {label} cannot be listed ({err})"
    if "zarr.json" not in found:
        return f"its group {label} is gone or has no zarr.json"
    if sizes is not None:
        for rel, size in sorted(sizes.items()):
            if rel not in found:
                return f"{label}/{rel} is missing"
            if found[rel] != size:
                what = "empty" if found[rel] == 0 else "truncated" if found[rel] < size else "changed in size"
                return f"{label}/{rel} is {what} ({found[rel]} bytes; {size} were written)"
        return None
    cache = keys_cache if keys_cache is not None else {}
    for name in arrays:
        meta_path = f"{name}/zarr.json"
        if meta_path not in found:
            return f"array {label}/{name} is missing (no {meta_path})"
        with fs.open(_join(local, path, meta_path), "rb") as f:
            raw = f.read()
        if raw not in cache:
            try:
                cache[raw] = _chunk_keys(json.loads(raw))
            except (ValueError, TypeError, KeyError) as err:
                return f"{label}/{meta_path} is not valid Zarr v3 array metadata ({err})"
        for key in cache[raw]:
            got = found.get(f"{name}/{key}")
            if got is None:
                return f"chunk {label}/{name}/{key} is missing"
            if got == 0:
                return f"chunk {label}/{name}/{key} is empty"
    return None


#: The files of zarr's v3 layout in a group of arrays: metadata and chunk (or shard) keys.
ZARR_LAYOUT = re.compile(r"(zarr\.json|[^/]+/zarr\.json|[^/]+/c(/\d+)+)")


def foreign_files(fs: Any, path: str, sizes: Mapping[str, int] | None, *, local: bool) -> list[str]:
    """Return the files under a group that takeoff did not write, by path relative to it.

    ``sizes``: the files recorded when the group was published (:func:`file_sizes`);
    for a group published without them, the files of zarr's layout count as written.

    Examples
    --------
    >>> import fsspec, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); (d / "a" / "c").mkdir(parents=True)
    >>> for name in ("zarr.json", "a/zarr.json", "a/c/0", "notes.txt"):
    ...     _ = (d / name).write_text("x")
    >>> foreign_files(fsspec.filesystem("file"), str(d), None, local=True)
    ['notes.txt']
    >>> foreign_files(fsspec.filesystem("file"), str(d), {"zarr.json": 1, "a/zarr.json": 1}, local=True)
    ['a/c/0', 'notes.txt']
    """
    found = file_sizes(fs, path, local=local)
    if sizes is not None:
        return sorted(set(found) - set(sizes))
    return sorted(rel for rel in found if not ZARR_LAYOUT.fullmatch(rel))
