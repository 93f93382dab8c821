"""Open a Dask client for a sweep: an existing scheduler, a LocalCluster, or dask-jobqueue."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
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
    make = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    options = {"cores": 1, "processes": 1, "memory": "4GiB"}
    options.update(kwargs)
    return make(**options)


def quiet_dask_logs() -> None:
    """Keep Dask's own loggers at WARNING: its INFO chatter would drown the sweep's progress."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def open_client(params: dict[str, Any]) -> Iterator[Any]:
    """Yield a ``distributed.Client`` for the launcher config ``params``; close what it started."""
    import dask
    from distributed import Client, LocalCluster

    quiet_dask_logs()

    address = str(params.get("address") or "")
    cluster = None
    # A worker that dies twice on the same job marks it failed (KilledWorker)
    # instead of being restarted three times, the default.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.worker.daemon": False}):
        try:
            if address:
                client = Client(address, timeout="30s")
            elif params["cluster"] in ("slurm", "pbs"):
                cluster = jobqueue_cluster(params["cluster"], dict(params.get("jobqueue") or {}))
                cluster.scale(jobs=int(params.get("jobs") or 1))
                client = Client(cluster)
            else:
                n = int(params.get("n_workers") or 0) or os.cpu_count() or 1
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0" if params.get("dashboard") else None,
                    silence_logs=logging.CRITICAL,
                )  # job errors are reported by the launcher
                client = Client(cluster)
                if params.get("dashboard") and cluster.dashboard_link:
                    print(
                        f"takeoff: LocalCluster of {n} workers, dashboard {cluster.dashboard_link}",
                        flush=True,
                    )
            try:
                yield client
            finally:
                client.close()
        finally:
            if cluster is not None:
                cluster.close()
