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
from tests.harness.slurm_cluster import SlurmCluster, slurm  # noqa: F401  (the fixture)

#: The jobs of the sweeps below: each job lasts about a second on the numpy engine.
GRID = ["seeds=2", "cycles=120", "engine=numpy", "loop.guard.mode=in_loop,none",
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


@pytest.mark.slow
def test_sweep_on_slurm_equals_the_local_cluster(slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
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
    # Each job's log names the batch job its worker ran in.
    for index in range(4):
        log = (workdir / "slurm" / str(index) / "job.log").read_text()
        named = re.search(r"slurm job (\d+)", log)
        assert named and named.group(1) in job_ids, log
    slurm.wait_for_empty_queue(60)
    local = subprocess.run([str(BIN / "takeoff"), "-m", *GRID, f"hydra.sweep.dir={workdir}/local",
                            "hydra.launcher.n_workers=1"], cwd=workdir, capture_output=True, text=True,
                           timeout=240, check=False)
    assert local.returncode == 0, explain(local)
    xr.testing.assert_identical(_data(workdir / "slurm" / "results.zarr"),
                                _data(workdir / "local" / "results.zarr"))


@pytest.mark.slow
def test_cancelled_worker_job_costs_only_its_jobs(slurm: SlurmCluster, workdir: Path) -> None:  # noqa: F811
    # One worker job: cancelled, it is replaced by a new one, which finishes the sweep.
    args = _slurm_args(workdir, "sweep", "hydra.launcher.jobs=1", "seed=range(0,3)")
    store = workdir / "sweep" / "results.zarr"
    proc = _popen(slurm, *args, cwd=workdir)
    _wait("a completed run", lambda: _done(store) >= 1 and len(slurm.jobs()) == 1, proc)
    victim = slurm.jobs()[0]
    cancelled = slurm.run("scancel", victim)
    assert cancelled.returncode == 0, cancelled.stderr
    out, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{out}\n{err}"
    replaced = {re.search(r"slurm job (\d+)", (workdir / "sweep" / str(i) / "job.log").read_text()).group(1)
                for i in range(12) if "done in" in (workdir / "sweep" / str(i) / "job.log").read_text()}
    assert victim in replaced and len(replaced) == 2, replaced
    status = results.SweepStore(store, create=False).status()
    # Only the cancelled worker's jobs can have failed; the others are done.
    assert len(status) == 12 and list(status.values()).count("done") >= 12 - 2, status
    slurm.wait_for_empty_queue(60)
    rerun = _takeoff(slurm, *args, cwd=workdir)
    assert rerun.returncode == 0, explain(rerun)
    assert set(results.SweepStore(store, create=False).status().values()) == {"done"}
    assert results.open_sweep(store).sizes["run"] == 12
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
    proc = _popen(slurm, *_slurm_args(workdir, "sweep", "seed=range(0,3)"), cwd=workdir)
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
    assert 1 <= first < second < 12, (first, second)
    rerun = _takeoff(slurm, *command, cwd=workdir)
    assert rerun.returncode == 0, explain(rerun)
    assert f"12 jobs, {second} already complete" in rerun.stdout, rerun.stdout
    assert _done(store) == 12
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
