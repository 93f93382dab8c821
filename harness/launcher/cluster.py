"""Open a Dask client for a sweep: an existing scheduler, a LocalCluster, or dask-jobqueue."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


class ClusterError(Exception):
    """The cluster could not be reached or started; the message is one line for the user."""


def import_jobqueue(kind: str) -> Any:
    """Import dask-jobqueue, keeping this process's SIGINT handler.

    dask-jobqueue's ``runner`` module installs a SIGINT handler (``sys.exit()``)
    when it is imported, which only works on the main thread and would replace
    the launcher's Ctrl-C handling (and with it the cancelling of the batch
    jobs). Call this on the main thread before the cluster is started in
    another; the previous handler is restored after the import.
    """
    previous = signal.getsignal(signal.SIGINT)
    try:
        import dask_jobqueue
    except ImportError as err:  # pragma: no cover - dask-jobqueue is in the test extra
        raise ClusterError(
            f"hydra.launcher.cluster={kind} needs dask-jobqueue: pip install 'takeoff[jobqueue]'"
        ) from err
    finally:
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
    return dask_jobqueue


#: Seconds a batch job's workers wait for a lost scheduler (the sweep's process) before
#: they stop and end their job.
DEATH_TIMEOUT = 20
#: Seconds after a worker left before its batch job counts as lost and is replaced by a new
#: one (dask's ``distributed.deploy.lost-worker-timeout``; 15 s by default). A worker that
#: its nanny restarts is back within it, and keeps its job.
LOST_WORKER_S = 5
#: Seconds between two checks that the cluster still has the batch jobs it was scaled to.
KEEP_JOBS_S = 1.0
#: Seconds between two looks for the first worker of the batch jobs.
POLL_S = 0.5


class Submissions:
    """The answers of the batch system to a cluster's job submissions: job ids or errors."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []
        self.errors: list[str] = []
        self.changed = threading.Condition()

    def add(self, job_id: str | None, error: str | None) -> None:
        """Record one answer."""
        with self.changed:
            if job_id is not None:
                self.job_ids.append(job_id)
            if error is not None:
                self.errors.append(error)
            self.changed.notify_all()

    def wait(self, n: int, timeout: float, what: str) -> list[str]:
        """Return the job ids once ``n`` jobs are submitted; raise :class:`ClusterError` on a refusal."""
        with self.changed:
            answered = self.changed.wait_for(lambda: self.errors or len(self.job_ids) >= n, timeout)
            if self.errors:
                raise ClusterError(f"{what} refused the worker job: {self.errors[0]}")
            if not answered:
                raise ClusterError(f"{what} did not answer the worker job submission within {timeout:g} s")
            return list(self.job_ids)


def _refusal(err: BaseException) -> str:
    """Return the batch system's own message from a failed submission, on one line."""
    text = str(err)
    if "stderr:" in text:  # dask-jobqueue's RuntimeError quotes the command's stderr
        lines = [line.strip() for line in text.split("stderr:", 1)[1].splitlines() if line.strip()]
        if lines:
            return "; ".join(lines)
    return " ".join(text.split()) or type(err).__name__


def queued_jobs(kind: str, job_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Return the state and the batch system's reason of each job still in the queue.

    Only Slurm is asked (``squeue``'s ``%T`` and ``%r``: ``PENDING``,
    ``PartitionDown``); a job that left the queue is not in the result, and
    neither is any job where the batch system cannot be asked.

    Examples
    --------
    >>> queued_jobs("slurm", ["5"])  # doctest: +SKIP
    {'5': ('PENDING', 'PartitionDown')}
    """
    if kind != "slurm" or not job_ids:
        return {}
    try:
        done = subprocess.run(["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i %T %r"],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        log.debug("squeue failed", exc_info=True)
        return {}
    states: dict[str, tuple[str, str]] = {}
    for line in done.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3:
            states[parts[0]] = (parts[1], parts[2])
    return states


def in_order(job_ids: Sequence[str]) -> list[str]:
    """Return batch job ids in the order the batch system numbered them (the order answers came in varies).

    >>> in_order(["10", "9", "11"])
    ['9', '10', '11']
    """
    return sorted(job_ids, key=lambda job_id: (len(job_id), job_id))


def why_no_worker(kind: str, job_ids: Sequence[str], states: dict[str, tuple[str, str]],
                  log_directory: str | None) -> str:
    """Say, in words for the user, why none of the batch jobs ``job_ids`` gave a worker.

    ``states`` is :func:`queued_jobs`'s answer.

    Examples
    --------
    >>> why_no_worker("slurm", ["5", "6"], {"5": ("PENDING", "PartitionDown"),
    ...                                      "6": ("PENDING", "PartitionDown")}, None)
    'Slurm jobs 5, 6 are pending (squeue reason: PartitionDown)'
    >>> why_no_worker("slurm", ["7"], {}, "/s/batch-logs")
    'Slurm job 7 ended without a worker connecting (see /s/batch-logs)'
    """
    noun = "Slurm" if kind == "slurm" else "PBS"
    see = f" (see {log_directory})" if log_directory else ""
    groups: dict[tuple[str, str], list[str]] = {}
    for job_id in job_ids:
        state, reason = states.get(job_id, ("", ""))
        if state == "PENDING":
            why = f" (squeue reason: {reason})" if reason else ""
            verbs = (f"is pending{why}", f"are pending{why}")
        elif state:
            verbs = (f"is {state.lower()} but its worker did not connect{see}",
                     f"are {state.lower()} but their workers did not connect{see}")
        elif kind == "slurm":
            verbs = (f"ended without a worker connecting{see}",) * 2
        else:
            verbs = (f"did not give a worker (qstat -f JOB says why){see}",) * 2
        groups.setdefault(verbs, []).append(job_id)
    parts = [f"{noun} job{'s' if len(ids) > 1 else ''} {', '.join(ids)} {verbs[len(ids) > 1]}"
             for verbs, ids in groups.items()]
    return "; ".join(parts) or f"no {noun} worker job was submitted"


def jobqueue_cluster(kind: str, kwargs: dict[str, Any], submissions: Submissions | None = None,
                     dashboard: bool = False) -> Any:
    """Return a dask-jobqueue cluster (``slurm`` or ``pbs``) built from passthrough ``kwargs``.

    Each job's submission is recorded in ``submissions`` (its id, or the batch
    system's refusal): dask-jobqueue itself only logs a refused submission, and
    a sweep would wait forever for its workers.
    """
    dask_jobqueue = import_jobqueue(kind)
    from distributed.core import Status
    make: Any = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    record = submissions or Submissions()

    class Job(make.job_cls):  # type: ignore[misc]
        async def start(self) -> None:
            try:
                await super().start()
            except Exception as err:
                self.status = Status.failed  # so that closing the cluster does not trip on it
                record.add(None, _refusal(err))
                raise
            record.add(str(self.job_id), None)

    options: dict[str, Any] = {"cores": 1, "processes": 1, "memory": "4GiB", "death_timeout": DEATH_TIMEOUT}
    options.update(kwargs)
    # The worker jobs' nannies get what a LocalCluster's do (glibc's thresholds; without the
    # dashboard, the quieter monitors) as exported variables, which a nanny keeps over its
    # own defaults; the user's prologue (option or Dask config) runs after them.
    import dask

    theirs = options.get("job_script_prologue")
    if theirs is None:
        theirs = dask.config.get(f"jobqueue.{kind}.job-script-prologue", default=None)
    if not theirs:  # its old name, which dask-jobqueue still reads when the new one is empty
        theirs = options.pop("env_extra", None) or dask.config.get(f"jobqueue.{kind}.env-extra", default=None)
    options["job_script_prologue"] = [*worker_exports(dashboard), *(theirs or [])]
    scheduler = dict(options.pop("scheduler_options", None) or {})
    # The scheduler's HTTP server: the dashboard on any free port, or nothing but
    # Dask's health routes on a free loopback port (never 8787).
    scheduler.setdefault("dashboard", dashboard)
    scheduler.setdefault("dashboard_address", ":0" if dashboard else "127.0.0.1:0")
    return make(job_cls=Job, scheduler_options=scheduler, **options)


_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
#: glibc's malloc settings of the worker processes. Dask's nannies set the trim threshold to
#: 64 KiB; the numpy stages' per-cycle temporaries are larger, so every cycle would map and fault
#: them in again (~20% slower jobs): freed memory is kept up to 256 MiB. Setting any threshold
#: also turns off glibc's sliding mmap threshold, so every block over 128 KiB (a batch's stacked
#: arrays, each chunk zarr compresses) would be mapped, faulted in and unmapped again: blocks up to
#: 32 MiB (the most the sliding threshold reaches) come from the heap. A batch's write in a worker
#: took 4.8-6.9 ms of CPU a run without the second, 3.4-3.9 ms with it (3 alternations).
MALLOC: dict[str, int] = {"MALLOC_TRIM_THRESHOLD_": 2**28, "MALLOC_MMAP_THRESHOLD_": 2**25}
#: A LocalCluster without a dashboard watches itself less often than Dask's defaults, which
#: are set for the dashboard's live plots: the nannies read their workers' memory every 100 ms,
#: every server samples the machine every 0.5 s and checks its event loop every 20 ms, and each
#: worker samples its running task's stack every 10 ms for the profile page. On a 2-core
#: machine the driver's process (scheduler, nannies, client) then took 7% of a core through a
#: story sweep; with these, 2%, and the workers 98-99% of a core each instead of 95-97%.
#: Memory limits are still enforced (checked every second); ``hydra.launcher.dashboard=true``
#: keeps Dask's defaults.
QUIET_MONITORS: dict[str, Any] = {
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.profile.enabled": False,
}


def worker_exports(dashboard: bool) -> list[str]:
    """Return the shell lines that give a batch job's worker :data:`MALLOC` (and :data:`QUIET_MONITORS`).

    Examples
    --------
    >>> worker_exports(dashboard=True)
    ['export MALLOC_TRIM_THRESHOLD_=268435456', 'export MALLOC_MMAP_THRESHOLD_=33554432']
    """
    env: dict[str, Any] = dict(MALLOC)
    if not dashboard:
        # Dask reads DASK_A__B_C as the key a.b-c, and the value as a Python literal if it is one.
        env |= {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): value
                for key, value in QUIET_MONITORS.items()}
    return [f"export {name}={value}" for name, value in env.items()]


def quiet_dask_logs() -> None:
    """Keep Dask's own loggers at WARNING: its INFO chatter would drown the sweep's progress."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.WARNING)


def warm_worker() -> None:
    """Run one short job's work in a fresh worker: simulate, build its Dataset, analyse, write.

    The worker's first job then does not pay for what a process does once: numba
    loads the compiled kernel and fits from its disk cache (or compiles them once,
    in a few seconds, on a new source tree), xarray's first Variable imports
    dask.array (0.5 s), and zarr's first write (its codecs, event loop and thread
    pool) took 0.2 s more than the next. The job is the default config's, 40
    cycles of one world, computed as every job is (:func:`harness.job.compute_run`)
    and written as a batch group into a temporary directory that is removed after.

    Then the objects the worker holds (the modules, Dask's state: about 270,000)
    are moved out of the garbage collector's view (``gc.freeze``). Python's full
    collection scans every object of the process; in a story sweep each worker
    ran one or two of them among its jobs, 120-155 ms each, for objects that
    live as long as the worker.
    """
    import dataclasses
    import gc
    import tempfile

    import results
    from harness.compose import spec_of_run
    from harness.config import RunConfig
    from harness.job import compute_run

    run = dataclasses.replace(RunConfig(), seeds=1, cycles=40)
    with tempfile.TemporaryDirectory(prefix="takeoff-warm-") as tmp:
        store = os.path.join(tmp, "warm.zarr")
        spec = spec_of_run(run, (), index=0, store=store, log_file=None, here=False)
        results.SweepStore(store).write_batch([compute_run(spec)])
    gc.collect()
    gc.freeze()


class Connection:
    """A Dask client for a sweep and the cluster it started, if any (closed together).

    Raises
    ------
    ClusterError
        The scheduler at ``address`` did not answer within ``connect_timeout``,
        or the batch system refused (or did not answer) a worker job.
    """

    def __init__(self, params: dict[str, Any], abandoned: threading.Event | None = None) -> None:
        import dask
        from distributed import Client, LocalCluster

        if abandoned is not None and abandoned.is_set():
            # The sweep stopped (a bad job, Ctrl-C) while this thread imported Dask: start nothing.
            raise ClusterError("the sweep stopped before its cluster started")
        quiet_dask_logs()
        self.cluster: Any = None
        self.job_ids: list[str] = []
        address = str(params.get("address") or "")
        timeout = float(params.get("connect_timeout") or 10)
        dashboard = bool(params.get("dashboard"))
        local = not address and params["cluster"] == "local"  # this connection starts a LocalCluster
        # A worker that dies twice on the same job marks it failed (KilledWorker)
        # instead of being restarted three times, the default.
        # The workers' malloc settings: see MALLOC.
        # Workers fork from a server that has imported distributed and numpy
        # once (where the platform has forkserver): less CPU at start, while the
        # driver composes on the same 2 cores, and a stop in 0.02 s, not 0.35 s.
        # 32 story jobs: 4.3 s -> 3.9 s.
        settings: dict[str, Any] = {"distributed.scheduler.allowed-failures": 1,
                                    "distributed.worker.multiprocessing-method": _START_METHOD}
        settings |= {f"distributed.nanny.pre-spawn-environ.{name}": value for name, value in MALLOC.items()}
        if local and not dashboard:
            settings |= QUIET_MONITORS
        with dask.config.set(settings):
            if address:
                try:
                    self.client = Client(address, timeout=f"{timeout}s")
                except (OSError, TimeoutError) as err:
                    raise ClusterError(
                        f"hydra.launcher.address={address} is unreachable: no Dask scheduler answered "
                        f"within {timeout:g} s (hydra.launcher.connect_timeout); check the address, "
                        "or leave it empty to start a LocalCluster"
                    ) from err
            elif params["cluster"] in ("slurm", "pbs"):
                self._start_jobqueue(params, timeout, dashboard)
            else:
                n = int(params.get("n_workers") or 0) or os.cpu_count() or 1
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True,
                    dashboard_address=":0" if dashboard else None,
                    # Without the dashboard the scheduler still serves Dask's health
                    # routes: on a free loopback port, never 8787.
                    scheduler_kwargs={} if dashboard else {"dashboard": False,
                                                           "dashboard_address": "127.0.0.1:0"},
                    silence_logs=logging.CRITICAL,  # job errors are reported by the launcher
                )
                self.client = Client(self.cluster)
                if dashboard and self.cluster.dashboard_link:
                    print(f"takeoff: LocalCluster of {n} workers, dashboard {self.cluster.dashboard_link}",
                          flush=True)
        if local and self.cluster is not None:
            # Also set up every worker the nannies start later in place of one that died.
            from harness.launcher.workers import IgnoreInterrupt

            self.client.register_plugin(IgnoreInterrupt())
            if abandoned is None or not abandoned.is_set():  # no job will run: no warm-up to wait for
                self.client.run(warm_worker)

    def _start_jobqueue(self, params: dict[str, Any], timeout: float, dashboard: bool) -> None:
        import dask
        from distributed import Client

        kind = str(params["cluster"])
        options = dict(params.get("jobqueue") or {})
        if params.get("log_directory"):
            options.setdefault("log_directory", str(params["log_directory"]))
        submissions = Submissions()
        self._submissions = submissions
        self._kind = kind
        self._log_directory = options.get("log_directory")
        # Read when a worker leaves, in the cluster's event loop, so set for the process.
        dask.config.set({"distributed.deploy.lost-worker-timeout": f"{LOST_WORKER_S}s"})
        self.cluster = jobqueue_cluster(kind, options, submissions, dashboard=dashboard)
        try:
            jobs = int(params.get("jobs") or 1)
            self.cluster.scale(jobs=jobs)
            # The batch system answers a submission at once; a refusal (an unknown
            # partition or account, a walltime over the limit) ends the sweep here.
            self.job_ids = in_order(submissions.wait(jobs, max(3 * timeout, 30.0),
                                                     "sbatch" if kind == "slurm" else "qsub"))
            self.client = Client(self.cluster)
        except BaseException:
            self.cluster.close()
            raise
        noun = "Slurm" if kind == "slurm" else "PBS"
        print(f"takeoff: {noun} worker jobs {', '.join(self.job_ids)} submitted"
              + (f", dashboard {self.cluster.dashboard_link}" if dashboard else ""), flush=True)
        # A worker whose batch job ended (cancelled, walltime, a lost node) is replaced:
        # dask-jobqueue drops it LOST_WORKER_S after it leaves, and scaling again
        # submits a new job in its place. Without this, a sweep whose last worker
        # job ended would wait forever.
        self._stopping = threading.Event()
        keeper = threading.Thread(target=self._keep_jobs, args=(jobs,), name="takeoff-jobs", daemon=True)
        keeper.start()

    def _keep_jobs(self, jobs: int) -> None:
        while not self._stopping.wait(KEEP_JOBS_S):
            try:
                self.cluster.scale(jobs=jobs)
            except Exception:  # noqa: BLE001  (a cluster closing under it; the next close stops this)
                log.debug("rescaling the batch jobs failed", exc_info=True)

    def wait_for_first_worker(self, timeout: float) -> None:
        """Return once a worker of the batch jobs has connected (at once for other clusters).

        Raises
        ------
        ClusterError
            No worker connected within ``timeout`` seconds; the message says why,
            with the batch system's own reason for a job still pending.
        """
        import time

        if not self.job_ids:
            return
        deadline = time.monotonic() + timeout
        while not self.client.nthreads():
            if time.monotonic() > deadline:
                ids = in_order(self._submissions.job_ids)
                why = why_no_worker(self._kind, ids, queued_jobs(self._kind, ids), self._log_directory)
                raise ClusterError(
                    f"no worker connected within {timeout:g} s (hydra.launcher.queue_timeout): {why}; "
                    "the worker jobs were cancelled. Ask for what the cluster can give "
                    "(hydra.launcher.jobqueue.*: queue, memory, walltime), or wait longer "
                    "(hydra.launcher.queue_timeout=SECONDS), then resume")
            time.sleep(POLL_S)

    def close(self) -> None:
        """Close the client, then the cluster this connection started."""
        stopping: threading.Event | None = getattr(self, "_stopping", None)
        if stopping is not None:
            stopping.set()
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()

    def close_in_background(self) -> threading.Thread:
        """Start closing (workers take ~0.4 s to stop) and return the thread; join it before exiting."""
        closing = threading.Thread(target=self.close, name="takeoff-close")
        closing.start()
        return closing
