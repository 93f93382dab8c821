"""Every run of a store accounted for, and no damaged run read as numbers.

Two checks, one cheap and one thorough (DESIGN section 3, "Integrity" and "Verify"):

- :func:`results.integrity.group_problem` checks the *structure* of a group of
  runs without reading any chunk: its metadata, its arrays, every chunk key the
  metadata implies, and each file's size. :func:`results.open_sweep` runs it on
  every group and leaves out, with a warning naming them, the runs of a broken group.
- :func:`verify` reads *everything*: every chunk of every run (zarr checks each
  chunk's ``crc32c``), and says of every run the store knows whether it is
  ``done``, ``failed``, ``damaged``, ``incomplete`` or ``missing``.

A chunk that fails its checksum while a sweep is read raises
:class:`DamagedRunError`, which names the runs and their overrides, never a number.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from results.store import StoreError, SweepStore

log = logging.getLogger(__name__)

#: The statuses of a run, in the order reports list them.
DONE, FAILED, DAMAGED, INCOMPLETE, MISSING, RUNNING = (
    "done", "failed", "damaged", "incomplete", "missing", "running")
STATUSES = (DONE, FAILED, DAMAGED, INCOMPLETE, MISSING, RUNNING)
#: Columns of :func:`verify`'s table.
COLUMNS = ("run_id", "status", "reason", "overrides")


class DamagedRunError(StoreError):
    """Runs whose stored data cannot be trusted: a chunk is missing, truncated or fails its checksum.

    Parameters
    ----------
    message
        What is wrong and where (it names the runs and their overrides).
    run_ids
        The runs the damaged chunk holds.
    reason
        What is wrong, in a few words (for tables); the message by default.

    Examples
    --------
    >>> err = DamagedRunError("run 0a1b: chunk fails its checksum", ["0a1b"])
    >>> err.run_ids
    ('0a1b',)
    """

    def __init__(self, message: str, run_ids: Iterable[str], reason: str = "") -> None:
        super().__init__(message)
        self.run_ids = tuple(run_ids)
        self.reason = reason or message


def describe_runs(run_ids: Sequence[str], overrides: Mapping[str, Sequence[str]]) -> str:
    """Return ``run <id> (<overrides>)`` for each run, for messages.

    Examples
    --------
    >>> describe_runs(["0a1b"], {"0a1b": ["loop.guard.mode=none", "seeds=4"]})
    'run 0a1b (loop.guard.mode=none seeds=4)'
    """
    parts = []
    for rid in run_ids:
        given = " ".join(overrides.get(rid, ()))
        parts.append(f"run {rid} ({given or 'no overrides'})")
    return ", ".join(parts)


def damaged(run_ids: Sequence[str], overrides: Mapping[str, Sequence[str]], what: str,
            err: BaseException | None = None) -> DamagedRunError:
    """Return the error for reading damaged runs: which runs, their overrides, what failed and why."""
    cause = f": {type(err).__name__}: {err}" if err is not None else ""
    return DamagedRunError(
        f"{describe_runs(run_ids, overrides)}: {what}{cause}; the run is damaged and left out of any "
        f"analysis: rerun the sweep command to recompute it (see takeoff-report STORE --verify)", run_ids,
        reason=f"{what}{cause}")


def check_finite(values: np.ndarray, run_ids: Sequence[str], overrides: Mapping[str, Sequence[str]],
                 what: str) -> np.ndarray:
    """Return ``values``; raise :class:`DamagedRunError` if a float holds infinity.

    The writer refuses infinity (a diverged trajectory is NaN after it
    diverges), so infinity read back means bytes changed on disk that no
    checksum caught (a schema v1 store has none).

    Examples
    --------
    >>> check_finite(np.array([1.0, np.nan]), ["0a1b"], {}, "ability").tolist()
    [1.0, nan]
    """
    if values.dtype.kind == "f" and np.isinf(values).any():
        raise damaged(run_ids, overrides, f"{what} holds infinity, which the store never holds "
                      f"(its bytes changed on disk)")
    return values


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """Return the number of runs of each status, in :data:`STATUSES` order, unknown statuses last.

    Examples
    --------
    >>> status_counts(["done", "failed", "done"])
    {'done': 2, 'failed': 1}
    """
    values = list(statuses)
    order = [*STATUSES, *sorted(set(values) - set(STATUSES))]
    return {s: values.count(s) for s in order if values.count(s)}


def left_out_line(analysed: int, left_out: Mapping[str, int]) -> str:
    """Return the sentence a report starts with: how many runs it analysed and left out, per status.

    Examples
    --------
    >>> left_out_line(8, {"incomplete": 1, "missing": 15})
    '8 runs analysed; 16 left out: 1 incomplete, 15 missing.'
    >>> left_out_line(3, {})
    '3 runs analysed; 0 left out.'
    """
    total = sum(left_out.values())
    detail = ", ".join(f"{n} {s}" for s, n in left_out.items() if n)
    return f"{analysed} runs analysed; {total} left out" + (f": {detail}." if detail else ".")


def verify(path_or_url: str | os.PathLike[str]) -> Any:
    """Read every run of a store, every chunk, and return the status of each run.

    Runs found damaged only when read (a bad checksum) are recorded in the
    store (:meth:`results.SweepStore.record_damage`), so that rerunning their
    sweep recomputes them.

    Parameters
    ----------
    path_or_url
        A store written by takeoff.

    Returns
    -------
    pandas.DataFrame
        One row per run the store knows (planned, written, failed or being
        written), sorted by status then ``run_id``: ``run_id``, ``status``
        (``done``, ``failed``, ``damaged``, ``incomplete``, ``missing``),
        ``reason`` (empty for a done run; the error, or what is broken) and
        ``overrides`` (one string).

    Raises
    ------
    StoreError
        If there is no takeoff store there.

    Examples
    --------
    >>> table = verify("results.zarr")  # doctest: +SKIP
    >>> table[table.status != "done"]  # doctest: +SKIP
    """
    import pandas as pd

    from results.sweep import open_sweep

    store = SweepStore(path_or_url, create=False)
    rows = {rid: {"run_id": rid, "status": status, "reason": reason, "overrides": " ".join(overrides)}
            for rid, (status, reason, overrides) in store_statuses(store).items()}
    if any(row["status"] == DONE for row in rows.values()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # its counts are in the table
            ds = open_sweep(store.url)
        found = {rid: reason for rid, reason in read_all(ds).items() if reason}
        for rid, reason in found.items():
            rows[rid] = {**rows[rid], "status": DAMAGED, "reason": reason}
        for reason in sorted(set(found.values())):  # so that a rerun of the sweep recomputes them
            store.record_damage([rid for rid, r in found.items() if r == reason], reason)
    order = {s: i for i, s in enumerate(STATUSES)}
    ordered = sorted(rows.values(), key=lambda r: (order.get(r["status"], len(order)), r["run_id"]))
    return pd.DataFrame(ordered, columns=list(COLUMNS))


def store_statuses(store: SweepStore) -> dict[str, tuple[str, str, list[str]]]:
    """Return ``run_id -> (status, reason, overrides)`` for every run the store knows, reading no chunk.

    ``done`` here means published with a sound structure; :func:`verify` then
    reads every chunk of those runs.
    """
    from results.status import classify

    entries = store.index()
    broken = store.broken_groups(entries)
    facts = store.facts(entries, broken)
    known: dict[str, list[str]] = {}
    for entry in entries.values():
        runs = entry["runs"]
        for rid, given in zip(runs["run_id"], runs.get("overrides") or [], strict=False):
            known.setdefault(rid, list(given))
    for rid, given in facts.planned.items():
        known.setdefault(rid, list(given))
    for rid, record in facts.failed.items():
        known.setdefault(rid, list(record.get("overrides", [])))
    for _, rids, overrides in broken.values():
        for rid, given in zip(rids, overrides or [[]] * len(rids), strict=False):
            known.setdefault(rid, list(given))
    out: dict[str, tuple[str, str, list[str]]] = {}
    for rid, status in classify(facts).items():
        reason = {FAILED: str(facts.failed.get(rid, {}).get("error", "")),
                  DAMAGED: facts.damaged.get(rid, ""),
                  INCOMPLETE: "its writer died before publishing it (a .tmp- group is left)",
                  MISSING: "planned, never written, and no live sweep holds it",
                  RUNNING: "a live sweep holds it"}.get(status, "")
        out[rid] = (status, reason, known.get(rid, []))
    return out


def read_all(ds: Any) -> dict[str, str]:
    """Read every variable of every run of an opened sweep; return ``run_id -> reason`` ("" when sound).

    Blocks of runs are read whole; a block that fails is read again run by
    run, so that only the runs whose chunks are damaged are named.
    """
    from results import schema

    ids = [str(r) for r in ds[schema.RUN_ID].values]
    reasons = dict.fromkeys(ids, "")
    for name in ds.data_vars:
        data = ds[name].data
        starts = np.cumsum((0, *data.chunks[0]))
        for j in range(len(data.chunks[0])):
            lo, hi = int(starts[j]), int(starts[j + 1])
            try:
                data.blocks[j].compute()
                continue
            except DamagedRunError:
                pass
            for i in range(lo, hi):
                if reasons[ids[i]]:
                    continue
                try:
                    data[i].compute()
                except DamagedRunError as err:
                    reasons[ids[i]] = err.reason
    return reasons
