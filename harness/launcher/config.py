"""The Dask launcher's config, registered in Hydra's ConfigStore as ``hydra/launcher=dask``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CLUSTERS = ("local", "sync", "slurm", "pbs")
#: Seconds a sweep on a batch system waits for its first worker (``queue_timeout``).
QUEUE_TIMEOUT = 600.0


@dataclass
class DaskLauncherConf:
    """Where and how a sweep's jobs run.

    Attributes
    ----------
    address
        An existing Dask scheduler (``tcp://host:8786``). Empty: start a cluster
        of kind ``cluster``.
    connect_timeout
        Seconds to wait for the scheduler at ``address`` (and, times three, at
        least 30 s, for the batch system to answer a worker job's submission)
        before the sweep stops with exit 2.
    queue_timeout
        Seconds a sweep on a batch system (``slurm``, ``pbs``) waits for the
        first of its worker jobs to start and connect (10 minutes by default).
        Then it stops with exit 2, cancels its jobs and says why they did not
        start (Slurm's reason for a pending job: ``Resources``,
        ``PartitionDown``, ...); the store is left for a resume. Raise it where
        jobs queue for longer.
    cluster
        ``local``: a LocalCluster sized to the machine (processes, one thread
        each: Hydra's job state is not thread-safe). ``sync``: run the jobs in
        this process one after another, so a ``pdb`` breakpoint works.
        ``slurm`` / ``pbs``: a dask-jobqueue cluster built from ``jobqueue``.
    n_workers
        Worker processes of a LocalCluster (0: one per core).
    jobs
        Batch jobs a dask-jobqueue cluster scales to (one worker each).
    jobqueue
        Keyword arguments passed to ``SLURMCluster`` / ``PBSCluster``
        (``cores``, ``memory``, ``queue``, ``walltime``, ``account``,
        ``death_timeout``, ...). Defaults: one core, 4 GiB, workers that end
        their batch job 20 s after losing the sweep's process, job logs in
        ``batch-logs/`` of the sweep directory.
    retries
        Times a failed job is retried before it is recorded as failed.
    batch_size
        Runs per Dask task (written as one batch group). 0: chosen from the
        measured time of a run, so that short runs go many to a task
        (``harness/launcher/batching.py``).
    rerun
        Run every job even if its run is already complete in the store
        (default: resume, running only what is missing or failed).
    dashboard
        Serve the cluster's dashboard on a free port and print its link. Off:
        no dashboard is served (Dask's health routes listen on a free loopback
        port, never 8787).
    """

    _target_: str = "hydra_plugins.takeoff_launcher.dask_launcher.DaskLauncher"
    address: str = ""
    connect_timeout: float = 10.0
    queue_timeout: float = QUEUE_TIMEOUT
    cluster: str = "local"
    n_workers: int = 0
    jobs: int = 1
    jobqueue: dict[str, Any] = field(default_factory=dict)
    retries: int = 0
    batch_size: int = 0
    rerun: bool = False
    dashboard: bool = False


@dataclass
class TakeoffSweeperConf:
    """Hydra's basic sweeper (same keys: ``params``, ``max_batch_size``), minus a duplicate check.

    Before launching a batch, Hydra's basic sweeper composes every job's config
    once to catch composition errors early: about 0.1 s per job, one job after
    another, in the driver. The Dask launcher composes and validates every job
    itself before it starts any (composing once per distinct set of group
    choices), so with it that first pass only repeats work and keeps the
    workers waiting. With any other launcher the check runs as in Hydra.
    """

    _target_: str = "hydra_plugins.takeoff_launcher.sweeper.TakeoffSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None


def register() -> None:
    """Register ``hydra/launcher=dask`` and ``hydra/sweeper=takeoff``."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    store.store(group="hydra/launcher", name="dask", node=DaskLauncherConf, provider="takeoff")
    store.store(group="hydra/sweeper", name="takeoff", node=TakeoffSweeperConf, provider="takeoff")
