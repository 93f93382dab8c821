"""The Dask launcher through the ``takeoff`` command, as a user's shell runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import results
from tests.harness.conftest import BIN, SMALL, explain, popen_takeoff, takeoff


def _data(path: Path) -> xr.Dataset:
    ds = results.open_sweep(path).load()
    ds.attrs = {}
    return ds


def test_grid_runs_into_one_store_with_swept_coordinates(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", "loop.evaluate.enabled=true,false",
                   f"hydra.sweep.dir={workdir}/sweep", "hydra.launcher.n_workers=2", cwd=workdir)
    assert done.returncode == 0, explain(done)
    assert "results.zarr" in done.stdout and "takeoff-report" in done.stdout, done.stdout
    ds = results.open_sweep(workdir / "sweep" / "results.zarr")
    assert ds.sizes["run"] == 4
    pairs = {(str(m), bool(e)) for m, e in zip(ds["loop.guard.mode"].values,
                                                ds["loop.evaluate.enabled"].values, strict=True)}
    assert pairs == {(m, e) for m in ("in_loop", "none") for e in (True, False)}
    assert ds["loop.evaluate.enabled"].dtype == bool
    # Per-job logs land in Hydra's job directories.
    assert sorted(p.name for p in (workdir / "sweep").iterdir() if p.name.isdigit()) == ["0", "1", "2", "3"]
    assert "done in" in (workdir / "sweep" / "0" / "job.log").read_text()


def test_same_store_on_basic_launcher_and_sync(workdir: Path) -> None:
    sweep = ["-m", *SMALL, "loop.guard.mode=in_loop,none"]
    dask = takeoff(*sweep, f"hydra.sweep.dir={workdir}/dask", "hydra.launcher.n_workers=2", cwd=workdir)
    # The numpy engine gives the compiled kernel's bits, and the same run ids.
    basic = takeoff(*sweep, f"hydra.sweep.dir={workdir}/basic", "hydra/launcher=basic", "engine=numpy",
                    cwd=workdir)
    sync = takeoff(*sweep, f"hydra.sweep.dir={workdir}/sync", "hydra.launcher.cluster=sync", cwd=workdir)
    for done in (dask, basic, sync):
        assert done.returncode == 0, explain(done)
    reference = _data(workdir / "dask" / "results.zarr")
    xr.testing.assert_identical(_data(workdir / "basic" / "results.zarr"), reference)
    xr.testing.assert_identical(_data(workdir / "sync" / "results.zarr"), reference)


def test_existing_scheduler_runs_the_jobs(workdir: Path) -> None:
    scheduler_file = workdir / "scheduler.json"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        from distributed import Client

        client = None
        deadline = time.monotonic() + 60
        while client is None:
            assert time.monotonic() < deadline, "dask scheduler did not start"
            if scheduler_file.exists():
                try:
                    client = Client(scheduler_file=str(scheduler_file), timeout="5s")
                except OSError:
                    client = None
            if client is None:
                time.sleep(0.2)
        address = client.scheduler.address
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                       "--nworkers", "1", "--no-dashboard", "--name", "outside-worker"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True))
        client.wait_for_workers(1, timeout=60)
        workers = set(client.scheduler_info()["workers"])
        done = takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", f"hydra.sweep.dir={workdir}/sweep",
                       f"hydra.launcher.address={address}", cwd=workdir)
        assert done.returncode == 0, explain(done)
        logs = [(workdir / "sweep" / str(i) / "job.log").read_text() for i in range(2)]
        for log in logs:
            ran_on = [w for w in workers if f"worker {w}" in log]
            assert ran_on, f"job log names no worker of the outside cluster {workers}:\n{log}"
        assert results.open_sweep(workdir / "sweep" / "results.zarr").sizes["run"] == 2
        client.close()
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


def test_failing_job_is_recorded_and_the_sweep_goes_on(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "fault.raise_in_job=false,true", "loop.guard.mode=in_loop,none",
                   f"hydra.sweep.dir={workdir}/sweep", "hydra.launcher.n_workers=2", cwd=workdir)
    assert done.returncode != 0, explain(done)
    assert "2 of 4 jobs failed" in done.stderr, done.stderr
    assert "fault.raise_in_job=true" in done.stderr and "injected fault" in done.stderr, done.stderr
    store = workdir / "sweep" / "results.zarr"
    failed = results.failures(store)
    assert len(failed) == 2 and failed["error"].str.contains("injected fault").all()
    with pytest.warns(UserWarning, match="2 failed"):
        ds = results.open_sweep(store)
    assert ds.sizes["run"] == 2 and not ds["fault.raise_in_job"].values.any()


def test_killed_worker_is_a_failed_job(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "fault.kill_worker=false,true", f"hydra.sweep.dir={workdir}/sweep",
                   "hydra.launcher.n_workers=2", cwd=workdir)
    assert done.returncode != 0, explain(done)
    assert "KilledWorker" in done.stderr, done.stderr
    assert len(results.failures(workdir / "sweep" / "results.zarr")) == 1


def test_bad_config_fails_before_any_job_starts(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "loop.propose.rate=0.1,-1", f"hydra.sweep.dir={workdir}/sweep", cwd=workdir)
    assert done.returncode == 2, explain(done)
    assert "loop.propose.rate=-1.0 is out of range; allowed: [0, 10]" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (workdir / "sweep" / "results.zarr").exists(), "a job ran despite the bad config"


def test_composition_error_fails_before_any_job_starts(workdir: Path) -> None:
    # The takeoff sweeper leaves this check to the Dask launcher, which composes every job first.
    done = takeoff("-m", *SMALL, "loop=bare,nope", f"hydra.sweep.dir={workdir}/sweep", cwd=workdir)
    assert done.returncode == 2, explain(done)
    assert "job #1 (seeds=2 cycles=20 loop=nope): In 'config': Could not find 'loop/nope'" in done.stderr, \
        done.stderr
    assert "no job was started" in done.stderr and "Traceback" not in done.stderr
    assert not (workdir / "sweep" / "results.zarr").exists()


def test_unknown_engine_fails_before_any_job_starts(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "engine=fast", f"hydra.sweep.dir={workdir}/sweep", cwd=workdir)
    assert done.returncode == 2, explain(done)
    assert "engine='fast' is unknown; allowed: ['auto', 'numba', 'numpy']" in done.stderr, done.stderr
    assert not (workdir / "sweep" / "results.zarr").exists()


def _sweep_args(workdir: Path, name: str) -> list[str]:
    # The numpy engine keeps each job long enough (about 0.3 s) that the sweep is
    # still running when the test interrupts it.
    return ["-m", "+experiment=story", "seeds=4", "cycles=300", "seed=range(0,8)", "engine=numpy",
            f"hydra.sweep.dir={workdir}/{name}", "hydra.launcher.n_workers=1"]


def _wait_for_runs(store: Path, n: int, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not (store / "done").is_dir() or len(os.listdir(store / "done")) < n:
        assert proc.poll() is None, f"sweep ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "no run completed in time"
        time.sleep(0.1)


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_store(workdir: Path) -> None:
    proc = popen_takeoff(*_sweep_args(workdir, "killed"), cwd=workdir)
    store = workdir / "killed" / "results.zarr"
    _wait_for_runs(store, 2, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    partial = len(os.listdir(store / "done"))
    assert partial < 8, "the sweep finished before it could be killed"
    rerun = takeoff(*_sweep_args(workdir, "killed"), cwd=workdir)
    assert rerun.returncode == 0, explain(rerun)
    assert f"{partial} already complete" in rerun.stdout, rerun.stdout
    whole = takeoff(*_sweep_args(workdir, "whole"), cwd=workdir)
    assert whole.returncode == 0, explain(whole)
    xr.testing.assert_identical(_data(store), _data(workdir / "whole" / "results.zarr"))


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_leaves_a_readable_store(workdir: Path) -> None:
    proc = popen_takeoff(*_sweep_args(workdir, "sweep"), cwd=workdir)
    store = workdir / "sweep" / "results.zarr"
    _wait_for_runs(store, 1, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    assert "interrupted" in err, err
    # Every process of the sweep (driver, nannies, workers) is gone.
    deadline = time.monotonic() + 60
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "worker processes outlived the interrupted sweep"
        time.sleep(0.2)
    ds = results.open_sweep(store)
    assert 1 <= ds.sizes["run"] < 8
    assert np.isfinite(ds["score"].isel(run=0, cycle=0).values).all()


def test_jobqueue_cluster_job_script() -> None:
    from harness.launcher.cluster import jobqueue_cluster

    cluster = jobqueue_cluster("slurm", {"queue": "normal", "walltime": "01:00:00", "memory": "4GiB",
                                         "account": "myproject"})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p normal" in script and "#SBATCH -t 01:00:00" in script, script
    assert "#SBATCH -A myproject" in script, script
    assert "--nthreads 1" in script, script


def test_rerun_switch_forces_a_full_rerun(workdir: Path) -> None:
    args = ["-m", *SMALL, "loop.guard.mode=in_loop,none", f"hydra.sweep.dir={workdir}/sweep",
            "hydra.launcher.cluster=sync"]
    first = takeoff(*args, cwd=workdir)
    again = takeoff(*args, cwd=workdir)
    forced = takeoff(*args, "hydra.launcher.rerun=true", cwd=workdir)
    for done in (first, again, forced):
        assert done.returncode == 0, explain(done)
    assert "2 already complete" in again.stdout and "0 to run" in again.stdout, again.stdout
    assert "2 to run" in forced.stdout, forced.stdout
