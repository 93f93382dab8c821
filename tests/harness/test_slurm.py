"""Sweeps through a real single-node Slurm cluster, typed as a user types them.

The cluster (``tests/harness/slurm_cluster.py``) runs for the whole session;
every test leaves its queue empty. The workers are real batch jobs: ``sbatch``
submits them, ``squeue`` shows them, ``scancel`` ends them.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import xarray as xr

import results
from tests.harness.conftest import BIN, explain
from tests.harness.slurm_cluster import DOWN_PARTITION, SlurmCluster, slurm  # noqa: F401  (the fixture)

#: The jobs of the sweeps below: each lasts about half a second on the numpy engine, once its
#: worker has imported what a job needs (a few seconds, on each new worker).
GRID = ["seeds=2", "cycles=60", "engine=numpy", "loop.guard.mode=in_loop,none",
        "loop.evaluate.enabled=true,false"]


def _slurm_args(workdir: Path, name: str, *more: str) -> list[str]:
    return ["-m", *GRID, f"hydra.sweep.dir={workdir}/{name}", "hydra.launcher.cluster=slurm",
            "+hydra.launcher.jobqueue.memory=1GiB", *more]


def _takeoff(cluster: SlurmCluster, *args: str, cwd: Path, timeout: float = 240,
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "takeoff"), *args], cwd=cwd, env=cluster.env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _popen(cluster: SlurmCluster, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "takeoff"), *args], cwd=cwd, env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _done(store: Path) -> int:
    if not (store / "zarr.json").exists():
        return 0
    return sum(s == "done" for s in results.SweepStore(store, create=False).status().values())


def _wait(what: str, check: object, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, f"the sweep ended before {what}: {proc.communicate()}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.2)


def _data(path: Path) -> xr.Dataset:
    ds = results.open_sweep(path).load()
    ds.attrs = {}
    return ds


def _pending_sweep_stops(cluster: SlurmCluster, workdir: Path, args: list[str]) -> None:
    """Run a sweep whose worker jobs Slurm keeps pending: it stops with Slurm's reason and exit 2."""
    timeout = 2
    start = time.monotonic()
    done = _takeoff(cluster, *args, f"hydra.launcher.queue_timeout={timeout}",
                    f"+hydra.launcher.jobqueue.queue={DOWN_PARTITION}", cwd=workdir, timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, explain(done)
    submitted = re.search(r"Slurm worker jobs (\d+), (\d+) submitted", done.stdout)
    assert submitted, done.stdout
    lines = [line for line in done.stderr.splitlines()
             if line.startswith("takeoff:") and not line.startswith("takeoff: resume with:")]
    assert lines == [
        f"takeoff: no worker connected within {timeout} s (hydra.launcher.queue_timeout): Slurm jobs "
        f"{submitted.group(1)}, {submitted.group(2)} are pending (squeue reason: PartitionDown); the worker "
        "jobs were cancelled. Ask for what the cluster can give (hydra.launcher.jobqueue.*: queue, memory, "
        "walltime), or wait longer (hydra.launcher.queue_timeout=SECONDS), then resume"], done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    # It cancelled its jobs as it stopped (nothing is left to the fixture's clean-up).
    assert cluster.jobs() == [], cluster.jobs("%i %T %r")
    # Bounded: the timeout, plus what Python and Hydra take to start and stop on a loaded machine.
    assert elapsed < timeout + 60, f"stopped after {elapsed:.0f} s"


@pytest.mark.slow
def test_pending_jobs_stop_the_sweep_and_its_rerun_equals_the_local_cluster(
        slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
    # The same sweep on a LocalCluster, meanwhile (the Slurm sweeps mostly wait).
    local = _popen(slurm, "-m", *GRID, f"hydra.sweep.dir={workdir}/local", "hydra.launcher.n_workers=1",
                   cwd=workdir)
    # Slurm accepts worker jobs for a partition that is down and keeps them pending: the sweep
    # stops after hydra.launcher.queue_timeout (it would wait for its first worker for ever).
    _pending_sweep_stops(slurm, workdir, _slurm_args(workdir, "slurm", "hydra.launcher.jobs=2"))
    store = workdir / "slurm" / "results.zarr"
    assert set(results.SweepStore(store, create=False).status().values()) == {"missing"}
    # The same sweep on a partition that is up completes the store it left.
    jobqueue = ["hydra.launcher.jobs=2", f"+hydra.launcher.jobqueue.queue={slurm.partition}",
                "+hydra.launcher.jobqueue.walltime=00:07:00", "+hydra.launcher.jobqueue.account=myproject"]
    proc = _popen(slurm, *_slurm_args(workdir, "slurm", *jobqueue), cwd=workdir)
    # While it runs, squeue shows the workers: two batch jobs with the requested resources.
    _wait("two worker jobs", lambda: len(slurm.jobs()) == 2, proc)
    running = slurm.jobs("%i %P %a %l %m %j")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    for line in running:
        job_id, partition, account, limit, memory, _name = line.split()
        assert (partition, account, limit) == (slurm.partition, "myproject", "7:00"), running
        assert memory in ("1G", "1024M"), running
    job_ids = {line.split()[0] for line in running}
    assert f"Slurm worker jobs {', '.join(sorted(job_ids, key=int))} submitted" in out, out
    assert "4 jobs, 0 already complete" in out, out
    # Each job's log names the batch job its worker ran in.
    for index in range(4):
        log = (workdir / "slurm" / "job-logs" / f"{index}.log").read_text()
        named = re.search(r"slurm job (\d+)", log)
        assert named and named.group(1) in job_ids, log
    slurm.wait_for_empty_queue(60)
    local_out, local_err = local.communicate(timeout=240)
    assert local.returncode == 0, f"exit {local.returncode}\n{local_out}\n{local_err}"
    xr.testing.assert_identical(_data(workdir / "slurm" / "results.zarr"),
                                _data(workdir / "local" / "results.zarr"))


@pytest.mark.slow
def test_cancelled_worker_job_costs_only_its_jobs(slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
    # One worker job: cancelled, it is replaced by a new one, which finishes the sweep.
    # Tasks of one run each: the cancel lands while most runs are still to do.
    args = _slurm_args(workdir, "sweep", "hydra.launcher.jobs=1", "hydra.launcher.batch_size=1",
                       "seed=range(0,2)")
    store = workdir / "sweep" / "results.zarr"
    proc = _popen(slurm, *args, cwd=workdir)
    _wait("a completed run", lambda: _done(store) >= 1 and len(slurm.jobs()) == 1, proc)
    victim = slurm.jobs()[0]
    cancelled = slurm.run("scancel", victim)
    assert cancelled.returncode == 0, cancelled.stderr
    out, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{out}\n{err}"
    logs = [(workdir / "sweep" / "job-logs" / f"{i}.log").read_text() for i in range(8)]
    replaced = {re.search(r"slurm job (\d+)", log).group(1) for log in logs if "done in" in log}
    assert victim in replaced and len(replaced) == 2, replaced
    status = results.SweepStore(store, create=False).status()
    # Only the cancelled worker's jobs can have failed; the others are done.
    assert len(status) == 8 and list(status.values()).count("done") >= 8 - 2, status
    slurm.wait_for_empty_queue(60)
    rerun = _takeoff(slurm, *args, cwd=workdir)
    assert rerun.returncode == 0, explain(rerun)
    assert set(results.SweepStore(store, create=False).status().values()) == {"done"}
    assert results.open_sweep(store).sizes["run"] == 8
    slurm.wait_for_empty_queue(60)


def _resume_command(stderr: str) -> list[str]:
    found = re.findall(r"takeoff: resume with: (.*)", stderr)
    assert found, stderr
    command = shlex.split(found[-1])
    assert command[0] == "takeoff", command
    return command[1:]


@pytest.mark.slow
def test_interrupted_sweep_leaves_no_job_and_resumes(slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
    store = workdir / "sweep" / "results.zarr"
    # Ctrl-C: the launcher cancels its worker jobs.
    # Tasks of one run each: "a completed run" is never the whole sweep done at once.
    proc = _popen(slurm, *_slurm_args(workdir, "sweep", "seed=range(0,2)", "hydra.launcher.batch_size=1"),
                  cwd=workdir)
    _wait("a completed run", lambda: _done(store) >= 1, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    waited = slurm.wait_for_empty_queue(60)
    first = _done(store)
    # SIGKILL of the resumed sweep: nobody cancels the worker job; its worker
    # loses the scheduler and ends the job by itself (its death timeout).
    command = _resume_command(err)
    proc = _popen(slurm, *command, cwd=workdir)
    _wait("another completed run", lambda: _done(store) > first, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    orphaned = slurm.wait_for_empty_queue(60)
    print(f"queue empty {waited:.1f} s after Ctrl-C, {orphaned:.1f} s after SIGKILL")
    second = _done(store)
    assert 1 <= first < second < 8, (first, second)
    rerun = _takeoff(slurm, *command, cwd=workdir)
    assert rerun.returncode == 0, explain(rerun)
    assert f"8 jobs, {second} already complete" in rerun.stdout, rerun.stdout
    assert _done(store) == 8
    slurm.wait_for_empty_queue(60)


def test_refused_job_fails_fast_with_slurms_message(slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
    # What Python and Hydra take to start and stop, on this machine now (a bad key stops the same sweep).
    start = time.monotonic()
    _takeoff(slurm, *_slurm_args(workdir, "bad", "hydra.launcher.n_workers=-1"), cwd=workdir)
    baseline = time.monotonic() - start
    start = time.monotonic()
    done = _takeoff(slurm, *_slurm_args(workdir, "sweep", "+hydra.launcher.jobqueue.queue=nope"), cwd=workdir,
                    timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, explain(done)
    assert elapsed - baseline < 30, f"refused after {elapsed:.0f} s ({baseline:.0f} s to start and stop)"
    assert "no job was started" in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if "nope" in line or "partition" in line]
    assert len(lines) == 1 and "sbatch: error: invalid partition specified: nope" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert slurm.jobs() == []
