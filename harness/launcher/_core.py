"""The Dask launcher's work: compose and validate every job, run them, report.

1. Compose every job's config in the driver (Hydra's config loader) and
   validate it; any bad value stops the sweep before a job starts.
2. Skip runs already complete in the store (resume), unless ``rerun``.
3. Run the rest: in this process (``cluster=sync``), or on a Dask cluster
   started lazily (LocalCluster, an existing scheduler, or dask-jobqueue) that
   receives plain :class:`~harness.job.JobSpec` objects, never Hydra's state.
4. Record failures (exceptions, dead workers) in the store, print a table of
   them, and exit non-zero if any job failed.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus, configure_log, setup_globals
from omegaconf import OmegaConf

import results
from harness.job import PHASES, BatchSpec, JobFailure, JobResult, JobSpec, one_line, run_batch
from harness.launcher.batching import Batcher
from harness.launcher.cluster import ClusterError, Connection, import_jobqueue
from harness.launcher.composer import SweepComposer, compose_jobs
from harness.launcher.config import CLUSTERS, QUEUE_TIMEOUT
from loops.params import ConfigError
from results.claims import Holder, Refresher

log = logging.getLogger(__name__)


class SweepFailed(SystemExit):
    """Some jobs of the sweep failed (exit code 1); the table was printed."""


def _params(launcher: Any) -> dict[str, Any]:
    cfg = launcher.config.hydra.launcher
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    params: dict[str, Any] = {str(k): v for k, v in container.items()}
    if params.get("cluster") not in CLUSTERS:
        raise ConfigError(
            f"hydra.launcher.cluster={params.get('cluster')!r} is unknown; known: {list(CLUSTERS)}"
        )
    for key in ("n_workers", "jobs", "retries", "batch_size"):
        if int(params.get(key, 0)) < 0:
            raise ConfigError(f"hydra.launcher.{key}={params[key]!r} is out of range; allowed: >= 0")
    for key in ("connect_timeout", "queue_timeout"):
        if key in params and not float(params[key]) > 0:
            raise ConfigError(f"hydra.launcher.{key}={params[key]!r} is out of range; allowed: > 0")
    # Batch jobs write their logs beside the sweep's (sbatch would write them in the current directory).
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir)).absolute()
    params.setdefault("log_directory", str(sweep_dir / "batch-logs"))
    return params


def resume_command(sweep_dir: str | os.PathLike[str], argv: Sequence[str] | None = None) -> str:
    """Return the shell command that resumes a sweep: its overrides and its absolute sweep directory.

    ``hydra.launcher.rerun`` is left out (a resume keeps what is complete).

    Examples
    --------
    >>> resume_command("/tmp/s", ["/venv/bin/takeoff", "-m", "seeds=2", "hydra.sweep.dir=s", "a=x y"])
    "takeoff -m seeds=2 'a=x y' hydra.sweep.dir=/tmp/s"
    """
    args = list(sys.argv if argv is None else argv)
    program = os.path.basename(args[0]) if args else "takeoff"
    if not program.startswith("takeoff"):
        program = "takeoff"
    dropped = ("hydra.sweep.dir", "hydra.launcher.rerun")
    kept = [a for a in args[1:]
            if a not in ("-m", "--multirun") and a.split("=", 1)[0].lstrip("+~") not in dropped]
    return shlex.join([program, "-m", *kept, f"hydra.sweep.dir={Path(sweep_dir).absolute()}"])


def _say_resume(sweep_dir: Path) -> None:
    print(f"takeoff: resume with: {resume_command(sweep_dir)}", file=sys.stderr, flush=True)


def launch(launcher: Any, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[JobReturn]:
    """Run a batch of jobs; see the module docstring."""
    setup_globals()
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    for noisy in ("distributed", "tornado", "bokeh"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    connecting: _Starting | None = None
    try:
        params = _params(launcher)
        # The first job is checked before any cluster starts: a mistake common to every job
        # (most are) then fails at once, with no cluster to start and close (seconds to minutes).
        composer = SweepComposer(launcher)
        compose_jobs(launcher, job_overrides[:1], initial_job_idx, composer=composer)
        connecting = _connect_in_background(params)
        specs, configs = compose_jobs(launcher, job_overrides, initial_job_idx, composer=composer)
        store = results.SweepStore(specs[0].store) if specs else None
        if store is not None:
            store.check_writable()
            if params["rerun"]:  # before any work: a forced rerun replaces whole batch groups
                store.check_forget({s.run_id for s in specs})
            if getattr(launcher, "before_jobs", None) is not None:
                launcher.before_jobs(store)  # the design sweeper keeps its design in the store
        if connecting is not None and (params["address"] or params["cluster"] in ("slurm", "pbs")):
            # An unreachable scheduler, or a worker job the batch system refuses,
            # stops the sweep before it starts (both answer within seconds).
            connecting.result()
    except (ConfigError, results.StoreError, ClusterError) as err:
        print(f"takeoff: {err}", file=sys.stderr)
        print("takeoff: no job was started", file=sys.stderr, flush=True)
        _close(connecting)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        _close(connecting)
        print("\ntakeoff: interrupted before any job started", file=sys.stderr)
        raise SystemExit(130) from None
    assert store is not None
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)

    # Every run accounted for: the plan is in the store before any job starts.
    store.record_plan({s.run_id: list(s.overrides) for s in specs})
    holder = Holder.this_process()
    todo, held, skipped = _claim(store, specs, holder, rerun=bool(params["rerun"]))
    refresher = Refresher(lambda: store.refresh(holder))
    waiting = f", {len(held)} held by another live sweep" if held else ""
    print(
        f"takeoff: {len(specs)} jobs, {skipped} already complete in {store.url}{waiting}, {len(todo)} to run",
        flush=True,
    )
    outcomes: dict[int, JobResult | JobFailure] = {}
    closing: threading.Thread | None = None
    try:
        if todo:
            _say_resume(sweep_dir)
            try:
                outcomes, closing = _execute(todo, params, connecting, holder.id)
            except ClusterError as err:
                print(f"takeoff: {err}", file=sys.stderr)
                _say_resume(sweep_dir)
                raise SystemExit(2) from None
            except BaseException:
                _say_resume(sweep_dir)
                raise
        else:
            _close(connecting)
        outcomes |= _wait_for(held, store, holder, params)
    finally:
        refresher.stop()
        with store.lock():
            store.remove_leftovers(own=holder)
            store.release(holder)
    failed = {i: o for i, o in outcomes.items() if isinstance(o, JobFailure)}
    by_index = {s.index: s for s in specs}
    for index, failure in failed.items():
        spec = by_index[index]
        store.write_failure(
            spec.run_id,
            params=dict(spec.params),
            config_yaml=spec.config_yaml,
            overrides=spec.overrides,
            error=failure.error,
        )
    store.consolidate()

    returns = []
    for spec, cfg in zip(specs, configs, strict=True):
        outcome = outcomes.get(spec.index)
        ret = JobReturn(
            overrides=list(spec.overrides),
            cfg=cfg,
            hydra_cfg=None,
            working_dir=str(Path(spec.log_file).parent) if spec.log_file else None,
            task_name=str(launcher.config.hydra.job.name),
            status=JobStatus.COMPLETED,
        )
        ret.return_value = outcome if isinstance(outcome, JobResult) else None
        returns.append(ret)
    _report(specs, failed, store)
    if closing is not None:
        closing.join()  # the workers stopped while the store was consolidated
    if failed:
        _say_resume(sweep_dir)
        raise SweepFailed(1)
    return returns


class _Starting:
    """A cluster starting in a background thread: its :class:`Connection`, once made.

    ``abandoned`` tells the start that no job will use it (see :func:`_close`); the
    start checks it before its slow steps.
    """

    def __init__(self, params: dict[str, Any]) -> None:
        self.abandoned = threading.Event()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="takeoff-connect")
        self._future = pool.submit(Connection, params, self.abandoned)
        pool.shutdown(wait=False)

    def result(self) -> Connection:
        """Wait for the connection (raising what its start raised)."""
        return self._future.result()


def _connect_in_background(params: dict[str, Any]) -> _Starting | None:
    """Start the cluster while the driver composes the jobs (it takes seconds); None for ``sync``."""
    if params["cluster"] == "sync" and not params["address"]:
        return None
    if params["cluster"] in ("slurm", "pbs") and not params["address"]:
        import_jobqueue(str(params["cluster"]))  # here, on the main thread (it installs a signal handler)
    return _Starting(params)


def _close(connecting: _Starting | None) -> None:
    """Close a cluster that no job will use, telling its start to skip what is left of it.

    A sweep that stops before any job (a bad value in a later job, a store it may not
    write, Ctrl-C) stopped 3-4 s after its message on a LocalCluster: the close waited
    for the workers' start and warm-up. The start now stops short of the cluster when it
    is told in time (it is importing Dask), or of the warm-up.
    """
    if connecting is not None:
        connecting.abandoned.set()
        try:
            connecting.result().close()
        except Exception:  # noqa: BLE001  (nothing ran; a cluster that failed to start needs no closing)
            log.debug("cluster start failed before any job", exc_info=True)


def _claim(store: results.SweepStore, specs: list[JobSpec], holder: Holder, *, rerun: bool,
           ) -> tuple[list[JobSpec], list[JobSpec], int]:
    """Claim the runs this sweep computes; return them, the runs another live sweep holds, the done count.

    Under the store's lock, so two sweeps started at once split the runs
    between them. What dead writers left is removed first.
    """
    with store.lock():
        store.remove_leftovers()
        status = store.status()
        damaged = [s.run_id for s in specs if status.get(s.run_id) == "damaged"]
        kept: dict[str, list[str]] = {}
        if damaged:  # a damaged group is replaced, never read: rewrite its runs (DESIGN section 3, "Verify")
            removed, kept = store.remove_broken(damaged)
            redo = [r for r in damaged if r not in kept]
            if redo:
                print(f"takeoff: {len(redo)} damaged runs are recomputed ({', '.join(redo)}); removed "
                      f"what takeoff wrote of them: {', '.join(removed)}", flush=True)
            for files in sorted({tuple(f) for f in kept.values()}):
                runs = ", ".join(r for r in kept if tuple(kept[r]) == files)
                print(f"takeoff: the damaged group of runs {runs} holds files takeoff did not write "
                      f"({', '.join(files)}); it is left as it is and its runs are not recomputed: "
                      f"move those files out of the store and rerun", file=sys.stderr, flush=True)
            status = store.status()
        if rerun:
            # A forced rerun replaces the runs it recomputes; they are the store's own.
            store.forget([s.run_id for s in specs if status.get(s.run_id) != "running"])
            status = store.status()
        todo = [s for s in specs if status.get(s.run_id) not in ("done", "running") and s.run_id not in kept]
        held = [s for s in specs if status.get(s.run_id) == "running"]
        store.claim(holder, [s.run_id for s in todo])
    return todo, held, sum(status.get(s.run_id) == "done" for s in specs)


#: Seconds between looks at the store while waiting for runs another sweep holds.
POLL_S = 1.0


def _wait_for(held: list[JobSpec], store: results.SweepStore, holder: Holder, params: dict[str, Any],
              ) -> dict[int, JobResult | JobFailure]:
    """Wait until the runs another live sweep holds are done or failed; take over those whose claim died.

    Runs taken over are computed in this process.
    """
    outcomes: dict[int, JobResult | JobFailure] = {}
    waiting = {s.run_id: s for s in held}
    if waiting:
        print(f"takeoff: waiting for {len(waiting)} runs another live sweep is computing", flush=True)
    while waiting:
        with store.lock():
            store.remove_leftovers()
            status = store.status()
            orphans = [s for rid, s in waiting.items()
                       if status.get(rid) not in ("done", "failed", "running")]
            store.claim(holder, [s.run_id for s in orphans])
        for rid in [r for r in waiting if status.get(r) in ("done", "failed")]:
            del waiting[rid]
        if orphans:
            print(f"takeoff: taking over {len(orphans)} runs whose sweep died", flush=True)
            for spec in orphans:
                del waiting[spec.run_id]
            for outcome in run_batch(BatchSpec(tuple(orphans), holder.id, int(params["retries"]))):
                outcomes[outcome.index] = outcome
        if waiting:
            # Polling: the other sweep publishes through the file system, which has no event to wait on.
            time.sleep(POLL_S)
    return outcomes


def _execute(todo: list[JobSpec], params: dict[str, Any], connecting: _Starting | None, holder: str,
             ) -> tuple[dict[int, JobResult | JobFailure], threading.Thread | None]:
    """Run the jobs in batches; return their outcomes and the thread closing the cluster (if any)."""
    import statistics

    from tqdm import tqdm

    outcomes: dict[int, JobResult | JobFailure] = {}
    retries, size = int(params["retries"]), int(params.get("batch_size", 0))
    bar = tqdm(total=len(todo), desc="jobs", unit="job", file=sys.stdout, dynamic_ncols=True, disable=None)

    def done(results_: list[JobResult | JobFailure], batcher: Batcher) -> None:
        for outcome in results_:
            outcomes[outcome.index] = outcome
        ok = [o for o in results_ if isinstance(o, JobResult)]
        if ok:
            batcher.measured(statistics.mean(o.seconds for o in ok), statistics.mean(o.nbytes for o in ok))
        bar.update(len(results_))

    started = time.perf_counter()
    try:
        if params["cluster"] == "sync" and not params["address"]:
            batcher = Batcher(todo, workers=1, size=size)
            while (jobs := batcher.next()) is not None:
                done(run_batch(BatchSpec(jobs, holder, retries)), batcher)
            bar.close()
            _say_where_time_went(outcomes, 1, time.perf_counter() - started)
            return outcomes, None
        assert connecting is not None
        try:
            connection = connecting.result()
        except KeyboardInterrupt:  # while the cluster starts: it is closed once started
            _close(connecting)
            raise
        finished = False
        try:
            # A worker job that stays pending (more memory than any node has, a partition
            # that is down) would keep the sweep waiting for ever.
            connection.wait_for_first_worker(float(params.get("queue_timeout") or QUEUE_TIMEOUT))
            client = connection.client
            from distributed import as_completed

            batcher = Batcher(todo, workers=max(1, sum(client.nthreads().values())), size=size)
            started = time.perf_counter()  # from the first worker: the cluster's start is not the jobs
            pending = as_completed()
            futures: dict[Any, tuple[JobSpec, ...]] = {}

            def submit(jobs: tuple[JobSpec, ...], *, alone: bool = False) -> None:
                batch = BatchSpec(jobs, holder, retries)
                key = f"batch-{jobs[0].index}-{len(jobs)}{'-alone' if alone else ''}-{jobs[0].run_id}"
                future = client.submit(run_batch, batch, key=key, retries=retries, pure=False)
                futures[future] = jobs
                pending.add(future)

            for _ in range(2 * batcher.workers):
                if (jobs := batcher.next()) is not None:
                    submit(jobs)
            for future in pending:
                jobs = futures.pop(future)
                try:
                    done(future.result(), batcher)
                except Exception as err:  # noqa: BLE001  (a batch's failure is data, recorded below)
                    if len(jobs) > 1:
                        # A worker died (or the batch could not be written): each run again, alone,
                        # so that only the run that kills its worker is recorded as failed.
                        for spec in jobs:
                            submit((spec,), alone=True)
                    else:
                        outcomes[jobs[0].index] = JobFailure(jobs[0].index, jobs[0].run_id, one_line(err))
                        bar.update()
                if (jobs := batcher.next()) is not None:
                    submit(jobs)
            finished = True
        finally:
            if not finished:  # interrupted or broken: stop the workers before anything else
                connection.close()
        bar.close()
        _say_where_time_went(outcomes, batcher.workers, time.perf_counter() - started)
        return outcomes, connection.close_in_background()
    except KeyboardInterrupt:
        bar.close()
        print(
            "\ntakeoff: interrupted; workers shut down; the store keeps every run completed so far. "
            "Run the command below to finish the sweep.",
            file=sys.stderr,
        )
        raise SystemExit(130) from None
    finally:
        bar.close()


def _say_where_time_went(outcomes: dict[int, JobResult | JobFailure], workers: int, wall: float) -> None:
    """Print one line: the jobs' wall time and the workers' time by part (simulate, analyse, write, ...).

    ``other`` is the rest of the jobs' own time (the job log, each run's Dataset, the suite's first
    build); ``idle`` is what the workers did not spend in jobs over the wall
    time (shipping batches, waiting for the last batch, a worker's start).
    """
    done = [o for o in outcomes.values() if isinstance(o, JobResult)]
    if not done:
        return
    parts = dict.fromkeys(PHASES, 0.0)
    for outcome in done:
        for name, seconds in outcome.phases:
            parts[name] = parts.get(name, 0.0) + seconds
    busy = sum(o.seconds for o in done)
    parts["other"] = max(busy - sum(parts.values()), 0.0)
    parts["idle"] = max(workers * wall - busy, 0.0)
    capacity = max(workers * wall, busy, 1e-9)
    shares = ", ".join(f"{name} {seconds:.1f} s ({seconds / capacity:.0%})"
                       for name, seconds in parts.items())
    print(f"takeoff: {len(done)} runs in {wall:.1f} s on {workers} worker{'s' * (workers != 1)}; "
          f"worker time: {shares}", flush=True)


def _report(specs: list[JobSpec], failed: dict[int, JobFailure], store: results.SweepStore) -> None:
    if failed:
        by_index = {s.index: s for s in specs}
        print(f"\ntakeoff: {len(failed)} of {len(specs)} jobs failed:", file=sys.stderr)
        print(f"  {'job':>4}  {'overrides':<50}  error", file=sys.stderr)
        for index in sorted(failed):
            overrides = " ".join(by_index[index].overrides) or "(none)"
            print(f"  {index:>4}  {overrides:<50}  {failed[index].error}", file=sys.stderr)
        logs = {os.path.dirname(log) for i in failed if (log := by_index[i].log_file)}
        if logs:
            print(f"  each job's attempts are in {', '.join(sorted(logs))}/<job>.log", file=sys.stderr)
    print(f"\nstore: {store.url}")
    print(f"next:  takeoff-report {store.url} --out {os.path.join(os.path.dirname(store.url), 'report')}")
