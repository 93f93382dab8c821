"""The Dask launcher through the ``takeoff`` command, as a user's shell runs it."""

from __future__ import annotations

import fcntl
import gc
import os
import pty
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import xarray as xr

import results
from harness.launcher.config import DaskLauncherConf
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
    # One log per job, all in one directory: no directory per job.
    logs = workdir / "sweep" / "job-logs"
    assert sorted(p.name for p in logs.iterdir()) == ["0.log", "1.log", "2.log", "3.log"]
    assert not [p for p in (workdir / "sweep").iterdir() if p.name.isdigit()]
    assert "done in" in (workdir / "sweep" / "job-logs" / "0.log").read_text()


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
        logs = [(workdir / "sweep" / "job-logs" / f"{i}.log").read_text() for i in range(2)]
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
    # The table says where each failed job's attempts are logged.
    assert f"{workdir}/sweep/job-logs/<job>.log" in done.stderr, done.stderr
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
    # One worker and eight jobs of one run each: the tests interrupt the sweep once a given
    # number of runs is done (not after a sleep), long before the last job. (With batches
    # sized automatically, one batch could hold every run: done all at once, nothing to stop.)
    return ["-m", "+experiment=story", "seeds=2", "cycles=150", "seed=range(0,8)", "engine=numpy",
            f"hydra.sweep.dir={workdir}/{name}", "hydra.launcher.n_workers=1", "hydra.launcher.batch_size=1"]


def _done(store: Path) -> int:
    """Return the number of runs the store calls done (never a count of files, which may be half-made)."""
    if not (store / "zarr.json").exists():
        return 0
    return sum(s == "done" for s in results.SweepStore(store, create=False).status().values())


def _wait_for_runs(store: Path, n: int, proc: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while _done(store) < n:
        assert proc.poll() is None, f"sweep ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "no run completed in time"
        time.sleep(0.05)


def _resume_command(stderr: str) -> list[str]:
    """Return the resume command the sweep printed, with the installed ``takeoff``."""
    found = re.findall(r"takeoff: resume with: (.*)", stderr)
    assert found, stderr
    command = shlex.split(found[-1])
    assert command[0] == "takeoff", command
    return command[1:]


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_store(workdir: Path) -> None:
    proc = popen_takeoff(*_sweep_args(workdir, "killed"), cwd=workdir)
    store = workdir / "killed" / "results.zarr"
    _wait_for_runs(store, 2, proc)
    # Freeze the driver and its workers at once, then count: nothing changes between
    # the count and the kill, however long a job takes.
    os.killpg(proc.pid, signal.SIGSTOP)
    partial = _done(store)
    os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert 2 <= partial < 8, "the sweep finished before it could be killed"
    # The command the sweep printed when it started resumes it, from any directory.
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    rerun = takeoff(*_resume_command(err), cwd=elsewhere, timeout=900)
    assert rerun.returncode == 0, explain(rerun)
    assert f"{partial} already complete" in rerun.stdout, rerun.stdout
    whole = takeoff(*_sweep_args(workdir, "whole"), cwd=workdir, timeout=900)
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
    # No worker's traceback: the message, then the command that resumes the sweep.
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().splitlines()[-1].startswith("takeoff: resume with: takeoff -m"), err
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
                                         "account": "myproject", "job_script_prologue": ["module load x"]})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p normal" in script and "#SBATCH -t 01:00:00" in script, script
    assert "#SBATCH -A myproject" in script, script
    assert "--nthreads 1" in script, script
    # The worker gets a LocalCluster worker's settings, before the user's own prologue.
    lines = script.splitlines()
    exports = [lines.index(f"export {name}={value}") for name, value in (
        ("MALLOC_MMAP_THRESHOLD_", 2**25), ("DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED", False))]
    assert max(exports) < lines.index("module load x"), script
    # The prologue's old name (dask-jobqueue still reads it) is kept too.
    cluster = jobqueue_cluster("slurm", {"env_extra": ["module load y"]})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "module load y" in script and "export MALLOC_MMAP_THRESHOLD_=33554432" in script, script


def test_worker_exports_read_back_as_the_local_clusters_settings() -> None:
    import dask
    import distributed  # noqa: F401  (loads distributed's defaults into dask's config)

    from harness.launcher.cluster import MALLOC, QUIET_MONITORS, worker_exports

    env = dict(line.removeprefix("export ").split("=", 1) for line in worker_exports(dashboard=False))
    assert {name: int(env[name]) for name in MALLOC} == MALLOC
    with dask.config.set(dask.config.collect_env(env)):
        assert {key: dask.config.get(key) for key in QUIET_MONITORS} == QUIET_MONITORS
    assert all(line.startswith("export MALLOC_") for line in worker_exports(dashboard=True))


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
    # Where the jobs' time went: one line, its parts adding up to the workers' time.
    for done in (first, forced):
        line = re.search(r"takeoff: (\d+) runs in ([\d.]+) s on 1 worker; worker time: (.*)", done.stdout)
        assert line is not None, done.stdout
        parts = dict(re.findall(r"(\w+) ([\d.]+) s \(\d+%\)", line[3]))
        shares = dict(re.findall(r"(\w+) [\d.]+ s \((\d+)%\)", line[3]))
        assert int(line[1]) == 2, line[0]
        assert list(parts) == ["simulate", "analyse", "write", "other", "idle"], line[0]
        # Both measured (two small runs analyse in a few hundredths of a second: "0.0 s (3%)").
        assert all(float(parts[k]) > 0 or int(shares[k]) > 0 for k in ("simulate", "analyse")), line[0]
        assert sum(map(float, parts.values())) == pytest.approx(float(line[2]), abs=0.3), line[0]
    assert "worker time" not in again.stdout, again.stdout


def test_forced_rerun_never_removes_runs_it_does_not_recompute(workdir: Path) -> None:
    # Four runs in one batch group; a forced rerun of two of them would replace the group whole.
    base = ["-m", *SMALL, "hydra.launcher.cluster=sync", f"hydra.sweep.dir={workdir}/sweep"]
    first = takeoff(*base, "seed=0,1,2,3", "hydra.launcher.batch_size=4", cwd=workdir)
    assert first.returncode == 0, explain(first)
    store = workdir / "sweep" / "results.zarr"
    before = _data(store)
    part = takeoff(*base, "seed=0,1", "hydra.launcher.rerun=true", cwd=workdir)
    assert part.returncode == 2, explain(part)
    assert "would remove 2 runs" in part.stderr and "no job was started" in part.stderr, part.stderr
    xr.testing.assert_identical(_data(store), before)
    # All four: the group is theirs alone, and is recomputed to the same numbers.
    forced = takeoff(*base, "seed=0,1,2,3", "hydra.launcher.rerun=true", cwd=workdir)
    assert forced.returncode == 0, explain(forced)
    assert "4 to run" in forced.stdout, forced.stdout
    xr.testing.assert_identical(_data(store), before)


@pytest.mark.parametrize(("override", "message"), [
    ("hydra.launcher.cluster=bogus",
     "hydra.launcher.cluster='bogus' is unknown; known: ['local', 'sync', 'slurm', 'pbs']"),
    ("hydra.launcher.n_workers=-1", "hydra.launcher.n_workers=-1 is out of range; allowed: >= 0"),
    ("hydra.launcher.connect_timeout=0", "hydra.launcher.connect_timeout=0.0 is out of range; allowed: > 0"),
    ("hydra.launcher.queue_timeout=-5", "hydra.launcher.queue_timeout=-5.0 is out of range; allowed: > 0"),
])
def test_bad_launcher_key_is_one_line(workdir: Path, override: str, message: str) -> None:
    done = takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", override, f"hydra.sweep.dir={workdir}/sweep",
                   cwd=workdir)
    assert done.returncode == 2, explain(done)
    assert done.stderr.splitlines() == [f"takeoff: {message}", "takeoff: no job was started"], done.stderr
    assert not (workdir / "sweep" / "results.zarr").exists()


def test_unreachable_scheduler_fails_within_the_connect_timeout(workdir: Path) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    # What Python and Hydra take to start and stop, on this machine now (a bad key stops the same sweep).
    start = time.monotonic()
    takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", "hydra.launcher.n_workers=-1", cwd=workdir)
    baseline = time.monotonic() - start
    start = time.monotonic()
    done = takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", f"hydra.launcher.address={address}",
                   "hydra.launcher.connect_timeout=2", f"hydra.sweep.dir={workdir}/sweep", cwd=workdir,
                   timeout=120)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, explain(done)
    assert done.stderr.splitlines()[0] == (
        f"takeoff: hydra.launcher.address={address} is unreachable: no Dask scheduler answered within 2 s "
        "(hydra.launcher.connect_timeout); check the address, or leave it empty to start a LocalCluster"
    ), done.stderr
    assert "Traceback" not in done.stderr
    # 2 s plus composing the jobs; Dask's own 30 s would be far over (a short timeout leaves room
    # for a loaded machine's noise between the two commands).
    assert elapsed - baseline < 2 + 16, f"took {elapsed:.0f} s, {baseline:.0f} s to start and stop"
    assert DaskLauncherConf().connect_timeout == 10  # the default the README states


_JOBQUEUE_IN_THE_CONNECT_THREAD = """
import signal, sys
from harness.launcher import _core
from harness.launcher.cluster import ClusterError

def mine(signum, frame):
    pass

signal.signal(signal.SIGINT, mine)
params = {"cluster": "slurm", "address": "", "jobs": 1, "jobqueue": {"memory": "1GiB"}, "connect_timeout": 5}
connecting = _core._connect_in_background(params)
assert signal.getsignal(signal.SIGINT) is mine, signal.getsignal(signal.SIGINT)
try:
    connecting.result()
except ClusterError as err:
    print(err)
"""


def test_jobqueue_cluster_starts_in_the_launchers_thread(workdir: Path) -> None:
    # The factory runs where the launcher runs it: in its connect thread, started
    # from the main thread. With no Slurm to answer, sbatch's refusal is the error.
    env = {**os.environ, "SLURM_CONF": str(workdir / "missing.conf"),
           "PATH": f"{workdir}:{os.environ['PATH']}"}
    sbatch = workdir / "sbatch"  # an sbatch that refuses, as Slurm's does for a bad option
    sbatch.write_text("#!/bin/sh\necho 'sbatch: error: no Slurm here' >&2\nexit 1\n")
    sbatch.chmod(0o755)
    done = subprocess.run([sys.executable, "-c", _JOBQUEUE_IN_THE_CONNECT_THREAD], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, explain(done)
    assert done.stdout.strip() == "sbatch refused the worker job: sbatch: error: no Slurm here", explain(done)


def test_no_dashboard_port_without_the_dashboard(workdir: Path) -> None:
    # Port 8787 (the dashboard's default) held here, or by someone else: either way taken.
    holder = socket.socket()
    try:
        try:
            holder.bind(("", 8787))
            holder.listen()
        except OSError:
            pass
        done = takeoff("-m", *SMALL, "loop.guard.mode=in_loop,none", f"hydra.sweep.dir={workdir}/sweep",
                       "hydra.launcher.n_workers=1", "hydra.launcher.dashboard=false", cwd=workdir)
    finally:
        holder.close()
    assert done.returncode == 0, explain(done)
    assert "8787" not in done.stderr + done.stdout and "dashboard http" not in done.stdout, explain(done)


def test_progress_bar_on_a_terminal(workdir: Path) -> None:
    # tqdm draws the bar only on a terminal: give the sweep one.
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 x 100 characters
    try:
        proc = subprocess.Popen([str(BIN / "takeoff"), "-m", *SMALL, "loop.guard.mode=in_loop,none",
                                 "seed=0,1", f"hydra.sweep.dir={workdir}/sweep",
                                 "hydra.launcher.cluster=sync"],
                                cwd=workdir, stdin=follower, stdout=follower, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the last process
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(leader)
    screen = b"".join(chunks).decode(errors="replace")
    # The bar starts at 0 of 4 and ends at 4 of 4 (tqdm redraws at most every 0.1 s between).
    assert re.search(r"\rjobs:\s+0%\|.*\| 0/4 ", screen), screen
    assert re.search(r"\rjobs: 100%\|.*\| 4/4 ", screen), screen


def test_retries_rerun_a_failing_job(workdir: Path) -> None:
    done = takeoff("-m", *SMALL, "fault.raise_in_job=true", "loop.guard.mode=in_loop,none",
                   f"hydra.sweep.dir={workdir}/sweep", "hydra.launcher.n_workers=1",
                   "hydra.launcher.retries=2",
                   cwd=workdir)
    assert done.returncode == 1, explain(done)
    for index in range(2):
        attempts = (workdir / "sweep" / "job-logs" / f"{index}.log").read_text().count(f"job {index} (")
        assert attempts == 3, f"job {index} ran {attempts} times, not 1 + 2 retries"
    assert len(results.failures(workdir / "sweep" / "results.zarr")) == 2
    assert "jobs:" not in done.stdout + done.stderr, "a progress bar drawn on a pipe"


def test_rerun_runs_the_failed_jobs_again(workdir: Path) -> None:
    args = ["-m", *SMALL, "fault.raise_in_job=false,true", "hydra.launcher.cluster=sync"]
    first = takeoff(*args, cwd=workdir)  # the default sweep directory: multirun/DATE/TIME
    assert first.returncode == 1, explain(first)
    assert "1 of 2 jobs failed" in first.stderr, first.stderr
    command = _resume_command(first.stderr)
    assert command[-1].startswith(f"hydra.sweep.dir={workdir}/multirun/"), command
    again = takeoff(*command, cwd=workdir)
    assert again.returncode == 1, explain(again)
    assert "2 jobs, 1 already complete" in again.stdout and "1 to run" in again.stdout, again.stdout
    store = Path(command[-1].split("=", 1)[1]) / "results.zarr"
    failed = results.failures(store)
    assert len(failed) == 1 and failed["error"].str.contains("injected fault").all()
    # The failed job ran twice, once per command, and logged both times.
    log = (store.parent / "job-logs" / "1.log").read_text()
    assert log.count("job 1 (") == 2, log


def _mapped_blocks_for_one_mib() -> int:
    """Return how many blocks glibc maps for a live 1 MiB numpy array (0: it came from the heap)."""
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                          "usmblks", "fsmblks", "uordblks", "fordblks",
                                                          "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    before = libc.mallinfo2().hblks
    values = np.ones(1 << 17)
    after = libc.mallinfo2().hblks
    del values
    return int(after - before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc settings")
def test_local_cluster_settings_reach_the_workers() -> None:
    # Dask's defaults sample for the dashboard's live plots (7% of a core in the driver through
    # a story sweep on 2 cores); without the dashboard the workers get the quieter settings.
    # And glibc keeps blocks up to 32 MiB in its heap: a 1 MiB array is not a fresh mapping.
    import dask
    import distributed  # noqa: F401  (loads distributed's defaults into dask's config)

    from harness.launcher.cluster import QUIET_MONITORS, Connection

    before = {key: dask.config.get(key) for key in QUIET_MONITORS}
    assert before != QUIET_MONITORS  # Dask's defaults differ, or this test shows nothing
    connection = Connection({"cluster": "local", "address": "", "n_workers": 1, "dashboard": False})
    try:
        seen = connection.client.run(lambda: {key: dask.config.get(key) for key in QUIET_MONITORS})
        assert list(seen.values()) == [QUIET_MONITORS]
        # The worker's own periodic callbacks run at the quieter intervals.
        ticks = connection.client.run(lambda dask_worker: dask_worker._tick_interval)
        assert list(ticks.values()) == [0.2]
        assert connection.client.run_on_scheduler(lambda dask_scheduler: dask_scheduler._tick_interval) == 0.2
        assert list(connection.client.run(_mapped_blocks_for_one_mib).values()) == [0]
        # The warmed worker's long-lived objects are out of the garbage collector's full scans.
        frozen = connection.client.run(gc.get_freeze_count)
        assert all(n > 10_000 for n in frozen.values()), frozen
    finally:
        connection.close()
    # The driver's own config is Dask's again once the cluster is made.
    assert {key: dask.config.get(key) for key in QUIET_MONITORS} == before


def test_a_cluster_start_told_the_sweep_stopped_starts_nothing() -> None:
    # A sweep that stops before any job (a bad value in a later job, Ctrl-C) tells the cluster
    # starting in the background; told while it imports Dask, it starts no process.
    from harness.launcher.cluster import ClusterError, Connection

    stopped = threading.Event()
    stopped.set()
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(ClusterError, match="stopped before its cluster started"):
        Connection({"cluster": "local", "address": "", "n_workers": 1, "dashboard": False}, stopped)
    assert {p.pid for p in psutil.Process().children(recursive=True)} <= before
