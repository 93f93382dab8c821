"""Open a Dask client for a sweep: an existing scheduler, a LocalCluster, or dask-jobqueue."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from typing import Any

log = logging.getLogger(__name__)


def jobqueue_cluster(kind: str, kwargs: dict[str, Any]) -> Any:
    """Return a dask-jobqueue cluster (``slurm`` or ``pbs``) built from passthrough ``kwargs``."""
    try:
        import dask_jobqueue
    except ImportError as err:  # pragma: no cover - dask-jobqueue is in the test extra
        raise RuntimeError(
            f"hydra.launcher.cluster={kind} needs dask-jobqueue: pip install 'takeoff[jobqueue]'"
        ) from err
    make: Any = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]  # type: ignore[attr-defined]
    options: dict[str, Any] = {"cores": 1, "processes": 1, "memory": "4GiB"}
    options.update(kwargs)
    return make(**options)


_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def quiet_dask_logs() -> None:
    """Keep Dask's own loggers at WARNING: its INFO chatter would drown the sweep's progress."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.WARNING)


def warm_worker() -> None:
    """Import what a job needs, build the default suite and load the compiled kernel.

    A fresh worker's first job then does not pay for them (numba loads the
    kernel from its disk cache in a fraction of a second, or compiles it once
    in a few seconds on a new source tree).
    """
    import results.store  # noqa: F401
    from harness.config import TasksConfig
    from harness.job import _suite
    from loops import WorldConfig, simulate

    suite = _suite(TasksConfig(), "auto")  # the key a job with the default engine uses
    simulate(WorldConfig(), suite, cycles=1, run_seed=0, seed_indices=[0])


class Connection:
    """A Dask client for a sweep and the cluster it started, if any (closed together)."""

    def __init__(self, params: dict[str, Any]) -> None:
        import dask
        from distributed import Client, LocalCluster

        quiet_dask_logs()
        self.cluster: Any = None
        address = str(params.get("address") or "")
        # A worker that dies twice on the same job marks it failed (KilledWorker)
        # instead of being restarted three times, the default.
        # Dask's nannies make glibc return freed memory at 64 KiB; the numpy
        # stages' per-cycle temporaries are larger, so every cycle would map and
        # fault them in again (~20% slower jobs). A sweep's jobs are short: keep them.
        # Workers fork from a server that has imported distributed and numpy
        # once (where the platform has forkserver): less CPU at start, while the
        # driver composes on the same 2 cores, and a stop in 0.02 s, not 0.35 s.
        # 32 story jobs: 4.3 s -> 3.9 s.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                              "distributed.worker.multiprocessing-method": _START_METHOD,
                              "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 2**28}):
            if address:
                self.client = Client(address, timeout="30s")
            elif params["cluster"] in ("slurm", "pbs"):
                self.cluster = jobqueue_cluster(params["cluster"], dict(params.get("jobqueue") or {}))
                self.cluster.scale(jobs=int(params.get("jobs") or 1))
                self.client = Client(self.cluster)
            else:
                n = int(params.get("n_workers") or 0) or os.cpu_count() or 1
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True,
                    dashboard_address=":0" if params.get("dashboard") else None,
                    silence_logs=logging.CRITICAL,  # job errors are reported by the launcher
                )
                self.client = Client(self.cluster)
                if params.get("dashboard") and self.cluster.dashboard_link:
                    print(f"takeoff: LocalCluster of {n} workers, dashboard {self.cluster.dashboard_link}",
                          flush=True)
        if self.cluster is not None and not address and params["cluster"] == "local":
            self.client.run(warm_worker)

    def close(self) -> None:
        """Close the client, then the cluster this connection started."""
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
