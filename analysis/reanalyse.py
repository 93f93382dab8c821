"""``takeoff-report --reanalyse``: every run's analysis again from its trajectories, on a Dask cluster.

For when the analysis code changed since the jobs analysed their worlds (or
``--min-effect`` asks for another plateau rule). The runs are cut into tasks
of many runs each, by batch group; a task reads only its runs' trajectories
from the store (:func:`results.sweep.open_group`: each group on its own grid,
as its job made it), analyses them with the code a job runs
(:func:`analysis.world.stored_parts`, the same answers bit for bit) and returns
only the small per-world tables and curve moments. :class:`Reanalysis` puts
them together in the shape of :func:`results.open_analysis`, which
:func:`analysis.report.write_report` reads as it reads the stored analysis.

The cluster is chosen with the Dask launcher's keys (``hydra.launcher.*``):
``--cluster`` (``local`` or ``sync``), ``--n-workers``, ``--address`` and
``--connect-timeout`` (:class:`ClusterOptions`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from analysis.world import CATEGORICAL, DOMAIN_MEANS, PER_WORLD, WORLD_COLUMNS, analysis_digest, stored_parts
from results import schema

if TYPE_CHECKING:
    from results.store import SweepStore

log = logging.getLogger(__name__)

#: Where the analysis runs: a LocalCluster, or this process one task after another.
CLUSTERS = ("local", "sync")
#: Tasks per worker (so a slow task does not leave the other workers idle at the end) ...
TASKS_PER_WORKER = 4
#: ... of at most this many runs each (what a task returns stays small).
MAX_TASK_RUNS = 1024
#: Bytes of trajectories a task loads at once (a block of its runs of one group).
BLOCK_BYTES = 1 << 26
#: The coordinate along ``run`` naming the analysis code (as in :func:`results.open_analysis`).
DIGEST = "analysis_digest"
#: How a scheduler address looks (``tcp://host:8786``, ``tls://...``, ``inproc://...``).
_ADDRESS = re.compile(r"^[a-z][a-z0-9+]*://\S+$")


class ReanalyseError(Exception):
    """The cluster cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class ClusterOptions:
    """Where the analysis runs: the Dask launcher's keys of the same names (``hydra.launcher.*``).

    Attributes
    ----------
    cluster
        ``local``: a LocalCluster (processes, one thread each, no dashboard),
        closed after use. ``sync``: in this process, one task after another.
    n_workers
        Worker processes of the LocalCluster (0: one per core).
    address
        An existing Dask scheduler (``tcp://host:8786``); its workers need
        this takeoff installed. Empty: start a cluster of kind ``cluster``.
    connect_timeout
        Seconds to wait for the scheduler at ``address``.
    """

    cluster: str = "local"
    n_workers: int = 0
    address: str = ""
    connect_timeout: float = 10.0


def options_problem(options: ClusterOptions) -> str | None:
    """Return what is wrong with the cluster options, in one line naming the option, or None.

    Examples
    --------
    >>> options_problem(ClusterOptions(n_workers=-1))
    '--n-workers -1: give a number of worker processes (0: one per core)'
    >>> options_problem(ClusterOptions(address="localhost:8786"))
    "--address 'localhost:8786': give a Dask scheduler's address such as tcp://host:8786"
    """
    if options.cluster not in CLUSTERS:
        return (f"--cluster {options.cluster!r}: give local or sync (on a batch system, start a Dask "
                f"scheduler and its workers there and give its --address)")
    if options.n_workers < 0:
        return f"--n-workers {options.n_workers}: give a number of worker processes (0: one per core)"
    if not (math.isfinite(options.connect_timeout) and options.connect_timeout > 0):
        return f"--connect-timeout {options.connect_timeout}: give a positive number of seconds"
    if options.address and not _ADDRESS.match(options.address):
        return f"--address {options.address!r}: give a Dask scheduler's address such as tcp://host:8786"
    if options.address and options.cluster == "sync":
        return "--address and --cluster sync: give one (sync runs the analysis in this process)"
    if options.address and options.n_workers:
        return "--n-workers with --address: the scheduler's own workers are used; give one of them"
    if options.cluster == "sync" and options.n_workers:
        return "--n-workers with --cluster sync: sync runs the analysis in this process; give one of them"
    return None


@contextlib.contextmanager
def connect(options: ClusterOptions) -> Iterator[Any]:
    """Yield a Dask client for ``options`` (None for ``sync``); a cluster it started is closed after.

    Raises
    ------
    ReanalyseError
        The scheduler at ``address`` did not answer within ``connect_timeout``.
    """
    if options.cluster == "sync" and not options.address:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    from harness.launcher.cluster import quiet_dask_logs

    quiet_dask_logs()
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    cluster = None
    # The launcher's settings: workers fork from a server that imported distributed and numpy once,
    # and keep freed memory for the next temporaries (the nannies' default trims it at 64 KiB).
    with dask.config.set({"distributed.worker.multiprocessing-method": method,
                          "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 2**28}):
        if options.address:
            try:
                client = Client(options.address, timeout=f"{options.connect_timeout}s")
            except (OSError, TimeoutError) as err:
                raise ReanalyseError(
                    f"--address {options.address} is unreachable: no Dask scheduler answered within "
                    f"{options.connect_timeout:g} s (--connect-timeout); check the address, or leave it out "
                    "to start a LocalCluster") from err
        else:
            cluster = LocalCluster(n_workers=options.n_workers or os.cpu_count() or 1, threads_per_worker=1,
                                   processes=True, dashboard_address=None,
                                   # Dask's health routes on a free loopback port, never 8787.
                                   scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                                   silence_logs=logging.CRITICAL)
            client = Client(cluster)
            from harness.launcher.workers import IgnoreInterrupt

            client.register_plugin(IgnoreInterrupt())  # Ctrl-C stops this process, which closes them
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class Part:
    """Runs of one batch group that a task analyses: the group's name under ``batches/`` and run ids."""

    group: str
    run_ids: tuple[str, ...]


@dataclass
class PartResult:
    """What a task returns for one :class:`Part`: the per-world tables and curve moments of its runs.

    ``columns`` hold :data:`analysis.world.WORLD_COLUMNS` along ``(run, seed)``
    (the group's seeds); ``curves`` the curve moments along ``(run, cycle)``
    (NaN for a run without the curve); ``damaged`` the runs that could not be
    read, with why.
    """

    run_ids: tuple[str, ...]
    seeds: np.ndarray
    cycles: np.ndarray
    columns: dict[str, np.ndarray]
    curves: dict[str, np.ndarray]
    digest: str
    damaged: dict[str, str] = field(default_factory=dict)


def task_runs(n_runs: int, n_workers: int) -> int:
    """Return the runs of one task: :data:`TASKS_PER_WORKER` tasks a worker, at most :data:`MAX_TASK_RUNS`.

    Examples
    --------
    >>> task_runs(256, 2), task_runs(100_000, 2), task_runs(3, 8)
    (32, 1024, 1)
    """
    return max(1, min(MAX_TASK_RUNS, math.ceil(n_runs / (TASKS_PER_WORKER * max(1, n_workers)))))


def plan(store: SweepStore, run_ids: Sequence[str], n_workers: int) -> list[tuple[Part, ...]]:
    """Cut ``run_ids`` into tasks of :func:`task_runs` runs, group by group.

    A run held by several groups is read from the one :func:`results.open_sweep` reads.
    """
    entries = store.index()
    wanted = set(run_ids)
    by_group: dict[str, list[tuple[int, str]]] = {}
    for rid, (name, position) in store.locations(entries).items():
        if rid in wanted:
            by_group.setdefault(str(entries[name].get("group", name)), []).append((position, rid))
    size = task_runs(len(wanted), n_workers)
    tasks: list[tuple[Part, ...]] = []
    current: list[Part] = []
    count = 0
    for group in sorted(by_group):
        runs = [rid for _, rid in sorted(by_group[group])]
        while runs:
            take, runs = runs[:size - count], runs[size - count:]
            current.append(Part(group, tuple(take)))
            count += len(take)
            if count >= size:
                tasks.append(tuple(current))
                current, count = [], 0
    if current:
        tasks.append(tuple(current))
    return tasks


def analyse_task(url: str, parts: Sequence[Part], min_effect: float) -> list[PartResult]:
    """Analyse the runs of ``parts`` from their trajectories in the store at ``url`` (runs on a worker)."""
    from analysis.summary import run_configs
    from analysis.wild import WILD_VARIABLES, wild_enabled
    from results.store import SweepStore
    from results.sweep import open_group
    from results.verify import DamagedRunError

    store = SweepStore(url, create=False)
    out = []
    for part in parts:
        ds = open_group(store, part.group)
        configs = run_configs(ds)
        ids = ds[schema.RUN_ID].values.astype(str)
        where = {rid: i for i, rid in enumerate(ids.tolist())}
        index = np.sort(np.asarray([where[r] for r in part.run_ids], dtype=np.intp))
        # Bytes of a run's variables read (8 a value at most), the wild's included.
        width = len(PER_WORLD) + len(WILD_VARIABLES) + len(DOMAIN_MEANS) * ds.sizes[schema.DOMAIN]
        block = max(1, BLOCK_BYTES // max(1, 8 * width * ds.sizes[schema.SEED] * ds.sizes[schema.CYCLE]))
        analysed: list[tuple[str, xr.Dataset, xr.Dataset]] = []
        damaged: dict[str, str] = {}
        for start in range(0, len(index), block):
            rows = index[start:start + block]
            names = [*DOMAIN_MEANS, *PER_WORLD]
            if any(wild_enabled(configs.get(str(ids[i]), {})) for i in rows.tolist()):
                names += list(WILD_VARIABLES)
            try:
                loaded = [ds[names].isel({schema.RUN: rows}).load(scheduler="synchronous")]
                kept = [rows]
            except DamagedRunError:  # find which runs: each alone
                loaded, kept = [], []
                for i in rows.tolist():
                    try:
                        loaded.append(ds[names].isel({schema.RUN: [i]}).load(scheduler="synchronous"))
                        kept.append(np.asarray([i]))
                    except DamagedRunError as err:
                        damaged[str(ids[i])] = err.reason
            for got, these in zip(loaded, kept, strict=True):
                for j, i in enumerate(these.tolist()):
                    rid = str(ids[i])
                    kept_parts = stored_parts(got.isel({schema.RUN: j}), configs.get(rid, {}),
                                              min_effect=min_effect)
                    analysed.append((rid, kept_parts["analysis"], kept_parts["curves"]))
        out.append(_part_result(ds, analysed, damaged))
    return out


def _part_result(ds: xr.Dataset, analysed: list[tuple[str, xr.Dataset, xr.Dataset]],
                 damaged: dict[str, str]) -> PartResult:
    n_cycle = ds.sizes[schema.CYCLE]
    names = sorted({str(name) for _, _, curves in analysed for name in curves.data_vars})
    columns = {name: np.stack([a[name].values for _, a, _ in analysed]) if analysed else np.zeros((0, 0))
               for name in WORLD_COLUMNS}
    curves: dict[str, np.ndarray] = {}
    for name in names:
        values = np.full((len(analysed), n_cycle), np.nan, dtype=np.float32)
        for k, (_, _, c) in enumerate(analysed):
            if name in c:
                values[k] = c[name].values
        curves[name] = values
    return PartResult(tuple(rid for rid, _, _ in analysed), ds[schema.SEED].values.astype(np.int64),
                      ds[schema.CYCLE].values.astype(np.int64), columns, curves, analysis_digest(), damaged)


class Reanalysis:
    """The recomputed analysis of a sweep's runs, by run, put together like :func:`results.open_analysis`."""

    def __init__(self, parts: Sequence[PartResult]) -> None:
        self.parts = list(parts)
        #: The runs a task could not read (a chunk fails its checksum), with why.
        self.damaged = {rid: why for p in self.parts for rid, why in p.damaged.items()}
        #: The digests of the analysis code the workers ran.
        self.digests = {p.digest for p in self.parts if p.run_ids}
        self._built: xr.Dataset | None = None

    def dataset(self, ds: xr.Dataset) -> xr.Dataset:
        """Return the analysis of the runs of ``ds`` (``open_sweep``), as ``results.open_analysis`` has it.

        Per world along ``(run, seed)`` on the sweep's seeds (``""`` and NaN
        where a run has no such seed), curve moments along ``(run, cycle)``,
        and the coordinates ``run_id`` and ``analysis_digest`` (empty for a
        run not analysed here). The first call puts the tasks' results
        together and lets them go (memory holds them once); a later call, for
        the same sweep opened again without runs found damaged, takes its part.
        """
        if self._built is None:
            self._built = self._build(ds)
            return self._built
        built = self._built
        ids = built[schema.RUN_ID].values.astype(str)
        wanted = ds[schema.RUN_ID].values.astype(str)
        if not np.isin(wanted, ids).all():
            raise ValueError("the sweep holds runs this reanalysis did not see; analyse it again")
        where = {rid: i for i, rid in enumerate(ids.tolist())}
        part = built.isel({schema.RUN: np.asarray([where[r] for r in wanted.tolist()], dtype=np.intp)})
        return part.sel({schema.SEED: ds[schema.SEED].values, schema.CYCLE: ds[schema.CYCLE].values})

    def _build(self, ds: xr.Dataset) -> xr.Dataset:
        ids = ds[schema.RUN_ID].values.astype(str)
        seeds = ds[schema.SEED].values.astype(np.int64)
        cycles = ds[schema.CYCLE].values.astype(np.int64)
        n = len(ids)
        at = {rid: i for i, rid in enumerate(ids.tolist())}
        seed_at = {int(s): i for i, s in enumerate(seeds.tolist())}
        cycle_at = {int(c): i for i, c in enumerate(cycles.tolist())}
        columns = {name: np.full((n, len(seeds)), "", dtype=object) if name in CATEGORICAL
                   else np.full((n, len(seeds)), np.nan) for name in WORLD_COLUMNS}
        curves: dict[str, np.ndarray] = {}
        digest = np.full(n, "", dtype=object)
        while self.parts:  # each task's result let go once placed: memory holds the analysis about once
            part = self.parts.pop()
            rows = np.asarray([at.get(rid, -1) for rid in part.run_ids], dtype=np.intp)
            keep = rows >= 0
            if not keep.any():
                continue
            cols = np.asarray([seed_at[int(s)] for s in part.seeds.tolist()], dtype=np.intp)
            for name in WORLD_COLUMNS:
                values = part.columns[name][keep]
                columns[name][np.ix_(rows[keep], cols)] = values.astype(object) if name in CATEGORICAL \
                    else values.astype(np.float64)
            cols = np.asarray([cycle_at[int(c)] for c in part.cycles.tolist()], dtype=np.intp)
            for name, values in part.curves.items():
                if name not in curves:
                    curves[name] = np.full((n, len(cycles)), np.nan, dtype=np.float32)
                curves[name][np.ix_(rows[keep], cols)] = values[keep]
            digest[rows[keep]] = part.digest
        data: dict[str, Any] = {name: ((schema.RUN, schema.SEED), values) for name, values in columns.items()}
        data |= {name: ((schema.RUN, schema.CYCLE), values) for name, values in sorted(curves.items())}
        return xr.Dataset(data, coords={
            schema.RUN_ID: (schema.RUN, ids.astype(object)),
            schema.SEED: (schema.SEED, seeds),
            schema.CYCLE: (schema.CYCLE, cycles),
            DIGEST: (schema.RUN, digest),
        })


def reanalyse(store: SweepStore, run_ids: Sequence[str], client: Any, *, min_effect: float,
              progress: Callable[[int], None] | None = None) -> Reanalysis:
    """Analyse ``run_ids`` of ``store`` from their trajectories, on ``client``'s workers (None: here).

    Parameters
    ----------
    store
        The sweep store.
    run_ids
        The runs to analyse (those :func:`results.open_sweep` opened).
    client
        A ``distributed.Client`` (:func:`connect`), or None to analyse in this process.
    min_effect
        The plateau rule's minimum effect (``ln C``).
    progress
        Called with the number of runs of each task done.

    Returns
    -------
    Reanalysis
        The per-world tables and curve moments of every run that could be read.
    """
    n_workers = 1 if client is None else max(1, len(client.nthreads()))
    tasks = plan(store, run_ids, n_workers)
    log.info("reanalysing %d runs of %s in %d tasks on %d workers", len(run_ids), store.url, len(tasks),
             n_workers)
    parts: list[PartResult] = []
    if client is None:
        for task in tasks:
            parts.extend(analyse_task(store.url, task, min_effect))
            if progress is not None:
                progress(sum(len(p.run_ids) for p in task))
        return Reanalysis(parts)
    from distributed import as_completed

    futures = {client.submit(analyse_task, store.url, task, min_effect, pure=False): task for task in tasks}
    for future in as_completed(futures):
        parts.extend(future.result())
        if progress is not None:
            progress(sum(len(p.run_ids) for p in futures[future]))
        future.release()
    return Reanalysis(parts)
