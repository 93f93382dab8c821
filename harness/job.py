"""One job: a validated run config -> simulate -> write to the sweep store; batches of jobs.

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
from results.batch import RunRecord
from results.provenance import config_value

log = logging.getLogger(__name__)

#: The directory of a sweep's job logs (``<num>.log``), beside ``batch-logs/`` in the sweep directory.
JOB_LOGS = "job-logs"

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
        The resolved config as plain data (identity of the run); :attr:`config_yaml`
        gives it as YAML (provenance).
    run_id
        Hash of ``config``.
    store
        The sweep store's path or URL.
    log_file
        The job's log (appended to; its directory is made if missing), or None.
        A sweep's job logs share one directory (:data:`JOB_LOGS`): a
        directory per job cost more than the rest of the harness's work for a
        story run (making a directory and its first file took 1-1.5 ms of kernel
        time on the 2-core machine; a file in an existing one 0.03 ms).
    """

    index: int
    overrides: tuple[str, ...]
    params: tuple[tuple[str, Any], ...]
    run: RunConfig
    config: Mapping[str, Any]
    run_id: str
    store: str
    log_file: str | None

    @property
    def config_yaml(self) -> str:
        """Return the resolved config as YAML (made when asked: only a failed run's record keeps it)."""
        import yaml

        return str(yaml.safe_dump(dict(self.config), sort_keys=True))


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
    #: Seconds of ``seconds`` by part (:data:`PHASES`): what the sweep's closing line adds up.
    phases: tuple[tuple[str, float], ...] = ()
    #: Bytes of the run's data as the store keeps it (uncompressed): the batcher sizes batches by it.
    nbytes: int = 0


#: The parts of a job's time it reports: simulation, analysis, its share of its batch's write
#: (the rest, such as building the run's Dataset and its log, is the closing line's "other").
PHASES = ("simulate", "analyse", "write")


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


@dataclass(frozen=True)
class JobFailure:
    """A run of a batch that failed (after its retries): its one-line error."""

    index: int
    run_id: str
    error: str


@dataclass(frozen=True)
class BatchSpec:
    """Runs a worker computes in one task and writes as one batch group.

    Attributes
    ----------
    jobs
        The runs' job specs (all of one store).
    holder
        The id of the sweep's claim on these runs (names the temporary group), or None.
    retries
        Times a run that raises is tried again, in place, before it is recorded as failed.
    """

    jobs: tuple[JobSpec, ...]
    holder: str | None = None
    retries: int = 0


def one_line(error: BaseException) -> str:
    """Return ``Type: message`` on one line."""
    text = f"{type(error).__name__}: {error}".strip()
    return text.splitlines()[0] if text else type(error).__name__


def compute_run(spec: JobSpec, phases: dict[str, float] | None = None) -> RunRecord:
    """Simulate one run and analyse its worlds; return it as the store keeps it, not yet written.

    ``phases``, if given, gets the seconds spent simulating and analysing.
    """
    import results
    from loops import simulate

    _inject_faults(spec.run)
    run = spec.run
    suite = _suite(run.tasks, run.engine)
    start = time.perf_counter()
    traj = simulate(run.world(), suite, cycles=run.cycles, run_seed=run.seed,
                    seed_indices=range(run.seeds), record_every=run.record.every, engine=run.engine)
    simulated = time.perf_counter()
    ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
    # The analysis of each world, where the data is made (issue 13): the report reads these small
    # tables and the curve means, never the trajectories of runs it does not draw.
    from analysis.world import stored_parts

    packed = time.perf_counter()
    parts = stored_parts(ds, spec.config)
    if phases is not None:
        # The Dataset's build is the harness's (the closing line's "other"), not the analysis's.
        phases["simulate"] = simulated - start
        phases["analyse"] = time.perf_counter() - packed
    return RunRecord(spec.run_id, ds, params=dict(spec.params), overrides=spec.overrides, config=spec.config,
                     **parts)


def run_batch(batch: BatchSpec) -> list[JobResult | JobFailure]:
    """Compute the runs of a batch, then write the successful ones as one batch group.

    A run that raises is tried again up to ``batch.retries`` times, then
    reported as a :class:`JobFailure`; the other runs of the batch go on. A
    worker that dies takes the whole batch with it (the launcher then reruns
    its runs one by one).

    Returns
    -------
    list
        One :class:`JobResult` or :class:`JobFailure` per run, in order.
    """
    import results

    worker = _worker_address()
    host, pid = socket.gethostname(), os.getpid()
    outcomes: list[JobResult | JobFailure] = []
    records: list[RunRecord] = []
    kept: list[tuple[JobSpec, float, dict[str, float], int]] = []
    for spec in batch.jobs:
        start = time.perf_counter()
        handler = _job_log(spec.log_file)
        try:
            for attempt in range(batch.retries + 1):
                # One line per attempt: the job log shows every try.
                log.info("job %d (%s) run %s on %s pid %d worker %s%s", spec.index, " ".join(spec.overrides),
                         spec.run_id, host, pid, worker, _batch_job())
                try:
                    phases: dict[str, float] = {}
                    record = compute_run(spec, phases)
                    records.append(record)
                    kept.append((spec, time.perf_counter() - start, phases, record.nbytes))
                    log.info("job %d done in %.2f s", spec.index, time.perf_counter() - start)
                    break
                except Exception as err:  # noqa: BLE001  (a run's failure is data for the store)
                    log.warning("job %d attempt %d failed: %s", spec.index, attempt + 1, one_line(err))
                    if attempt == batch.retries:
                        outcomes.append(JobFailure(spec.index, spec.run_id, one_line(err)))
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
                handler.close()
    if records:
        start = time.perf_counter()
        store = results.SweepStore(batch.jobs[0].store)
        wrote = store.write_batch(records, holder=batch.holder)
        share = (time.perf_counter() - start) / len(records)
        outcomes.extend(JobResult(spec.index, spec.run_id, w, seconds + share, host, pid, worker,
                                  tuple((phases | {"write": share}).items()), nbytes)
                        for (spec, seconds, phases, nbytes), w in zip(kept, wrote, strict=True))
    return sorted(outcomes, key=lambda o: o.index)


def run_job(spec: JobSpec) -> JobResult:
    """Simulate one run and write it to the sweep store (a batch of one).

    Parameters
    ----------
    spec
        The job (see :class:`JobSpec`).

    Returns
    -------
    JobResult
        The run id, whether this call wrote it, the time taken and where it ran.

    Raises
    ------
    Exception
        Whatever the run raised (the caller records it).
    """
    import results

    start = time.perf_counter()
    worker = _worker_address()
    handler = _job_log(spec.log_file)
    try:
        log.info("job %d (%s) run %s on %s pid %d worker %s%s", spec.index, " ".join(spec.overrides),
                 spec.run_id, socket.gethostname(), os.getpid(), worker, _batch_job())
        record = compute_run(spec)
        (wrote,) = results.SweepStore(spec.store).write_batch([record])
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


def _job_log(log_file: str | None) -> logging.Handler | None:
    if log_file is None:
        return None
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    _quiet_libraries()
    return handler


@functools.cache
def _quiet_libraries() -> None:
    """Let a job log show INFO from takeoff and WARNING from the libraries (once per process).

    Each ``setLevel`` clears the cache of every logger of the process.
    """
    root = logging.getLogger()
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    for noisy in ("distributed", "tornado", "asyncio", "numcodecs", "zarr", "fsspec"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
