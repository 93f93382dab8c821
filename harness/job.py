"""One job: a validated run config -> simulate -> write to the sweep store.

The launcher composes every job's config with Hydra in the driver process and
ships a :class:`JobSpec` (plain frozen data) to the workers, which only run
:func:`run_job`. Workers never see Hydra's global state.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from harness.config import RunConfig, TasksConfig
from results.provenance import config_value

log = logging.getLogger(__name__)

#: Keys that do not change a run's results: where it is stored and which engine computed it.
NOT_IDENTITY = ("store", "engine")

#: The code that computes a run's numbers: the simulator and the suites, with every
#: project module they import (``loops.sources.closure``).
MODEL_CODE = ("loops", "harness.suites")


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to run one job.

    Attributes
    ----------
    index
        The job's number in the sweep.
    overrides
        The command-line overrides that made the job.
    params
        The job's overridden parameters by Hydra key, with natural types.
    run
        The validated run config.
    config
        The resolved config as plain data (identity of the run).
    config_yaml
        The resolved config as YAML (provenance).
    run_id
        Hash of ``config``.
    store
        The sweep store's path or URL.
    job_dir
        Hydra's output directory for this job (per-job log), or None.
    """

    index: int
    overrides: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    run: RunConfig
    config: Mapping[str, Any]
    config_yaml: str
    run_id: str
    store: str
    job_dir: str | None


@dataclass(frozen=True)
class JobResult:
    """What a finished job reports back."""

    index: int
    run_id: str
    wrote: bool
    seconds: float
    host: str
    pid: int
    worker: str | None


def plain(obj: Any) -> Any:
    """Return a frozen config dataclass as plain JSON-able data (enums as their values)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    return obj


@functools.cache
def model_digest() -> str:
    """Return the digest of the model's code (:data:`MODEL_CODE`), computed once per process.

    Comments, docstrings and blank lines do not count (:func:`loops.sources.code_text`);
    any other edit gives a new digest, hence new run ids, so a rerun recomputes.
    """
    from loops import sources

    return sources.digest(sources.closure(MODEL_CODE))


def identity(run: RunConfig) -> dict[str, Any]:
    """Return what defines a run: its config (``NOT_IDENTITY`` left out) and ``model_digest``."""
    data: dict[str, Any] = plain(run)
    for key in NOT_IDENTITY:
        data.pop(key, None)
    data["model_digest"] = model_digest()
    return data


def override_params(overrides: Sequence[str], config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the overridden parameters of a job, by Hydra key, with natural types.

    A value override (``loop.propose.returns=1.2``) takes its type from the
    resolved config; a config-group choice (``loop=bare``, ``+experiment=story``)
    keeps the chosen name. Hydra's own keys and ``store`` are left out.
    """
    params: dict[str, Any] = {}
    for text in overrides:
        if "=" not in text:
            continue
        key, raw = text.split("=", 1)
        key = key.lstrip("+~")
        if key.startswith("hydra.") or key in NOT_IDENTITY or key.startswith("hydra/"):
            continue
        value = config_value(config, key)
        params[key] = raw if value is None or isinstance(value, (Mapping, list)) else value
    return params


@functools.lru_cache(maxsize=8)
def _suite(tasks: TasksConfig, engine: str = "auto") -> Any:
    # Building a suite's accuracy curves takes ~0.1 s; a worker runs many jobs of
    # the same suite, so it keeps the last few (keyed by the frozen tasks config).
    from harness.suites import build_suite

    return build_suite(tasks, engine=engine)


def _inject_faults(run: RunConfig) -> None:
    if run.fault.raise_in_job:
        raise RuntimeError("injected fault (fault.raise_in_job=true)")
    if run.fault.kill_worker:
        os.kill(os.getpid(), signal.SIGKILL)


def run_job(spec: JobSpec) -> JobResult:
    """Simulate one run and write it to the sweep store.

    Parameters
    ----------
    spec
        The job (see :class:`JobSpec`).

    Returns
    -------
    JobResult
        The run id, whether this call wrote it, the time taken and where it ran.
    """
    import results
    from loops import simulate

    start = time.perf_counter()
    worker = _worker_address()
    handler = _job_log(spec.job_dir)
    try:
        log.info("job %d (%s) run %s on %s pid %d worker %s%s", spec.index, " ".join(spec.overrides),
                 spec.run_id, socket.gethostname(), os.getpid(), worker, _batch_job())
        _inject_faults(spec.run)
        run = spec.run
        traj = simulate(run.world(), _suite(run.tasks, run.engine), cycles=run.cycles, run_seed=run.seed,
                        seed_indices=range(run.seeds), record_every=run.record.every, engine=run.engine)
        ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
        store = results.SweepStore(spec.store)
        wrote = store.write_run(spec.run_id, ds, params=dict(spec.params), config_yaml=spec.config_yaml,
                                overrides=spec.overrides, config=spec.config)
        seconds = time.perf_counter() - start
        log.info("job %d done in %.2f s", spec.index, seconds)
        return JobResult(spec.index, spec.run_id, wrote, seconds, socket.gethostname(), os.getpid(), worker)
    finally:
        if handler is not None:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _batch_job() -> str:
    """Return " slurm job ID" (or " pbs job ID") in a batch job's worker, else ""."""
    for var, system in (("SLURM_JOB_ID", "slurm"), ("PBS_JOBID", "pbs")):
        if os.environ.get(var):
            return f" {system} job {os.environ[var]}"
    return ""


def _worker_address() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None


def _job_log(job_dir: str | None) -> logging.Handler | None:
    if job_dir is None:
        return None
    Path(job_dir).mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(Path(job_dir) / "job.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for noisy in ("distributed", "tornado", "asyncio", "numcodecs", "zarr", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
