"""Many writers and killed writers (DESIGN section 4), with real processes and real SIGKILL."""

import multiprocessing
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import results
from results.testing import assert_sweeps_equal, synthetic_config, write_synthetic_runs


def _chunk_files(store: Path) -> dict[str, bytes]:
    """Every shard file of every published batch group (the metadata holds the write time)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted((store / "batches").rglob("*"))
            if p.is_file() and p.name != "zarr.json" and ".tmp-" not in str(p)}


def _open(url):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return results.open_sweep(url)


def test_four_processes_equal_one_process_in_order(tmp_path):
    parallel, serial = tmp_path / "parallel.zarr", tmp_path / "serial.zarr"
    # Every run is written by two processes (a retried job racing the original),
    # and all four processes create the store at once.
    jobs = [(str(parallel), [*range(k, 16, 4), *range((k + 1) % 4, 16, 4)]) for k in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(write_synthetic_runs, jobs)
    write_synthetic_runs(serial, range(16))

    a, b = _open(parallel), _open(serial)
    assert a.sizes["run"] == 16, f"expected 16 runs, found {a.sizes['run']}"
    assert_sweeps_equal(a, b)
    leftovers = [p.name for p in (parallel / "batches").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == [], f"a losing writer must remove its temporary group: {leftovers}"
    assert _chunk_files(parallel) == _chunk_files(serial)


_KILLED_WRITER = """
import sys
from results.store import SweepStore
from results.testing import write_synthetic_runs

url, where = sys.argv[1], sys.argv[2]

def pause():
    print("paused", flush=True)
    sys.stdin.read()  # blocks until the test kills this process

if where == "before_publish":
    publish = SweepStore._publish
    def paused_publish(self, name, tmp, run_ids):
        pause()
        return publish(self, name, tmp, run_ids)
    SweepStore._publish = paused_publish
else:  # after the group is in place, before the done marker
    put = SweepStore._put_text
    def paused_put(self, path, text):
        if "/done/" in path:
            pause()
        return put(self, path, text)
    SweepStore._put_text = paused_put
write_synthetic_runs(url, [6, 7], batch_size=2, seeds=8, cycles=2000)
"""

BIG = {"seeds": 8, "cycles": 2000}


@pytest.mark.parametrize("where", ["before_publish", "before_done_marker"])
def test_killed_writer_leaves_a_readable_store_and_rerun_is_bit_identical(tmp_path, where):
    url, clean = tmp_path / "s.zarr", tmp_path / "clean.zarr"
    done = write_synthetic_runs(url, [0, 1])
    rids = [results.run_id(synthetic_config(n, **BIG)) for n in (6, 7)]

    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(url), where],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "paused", f"the writer did not reach the pause point (got {line!r})"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    if where == "before_publish":
        # The batch's chunks are all on disk under a temporary name, but it was never published.
        assert any(p.name.startswith(".tmp-") for p in (url / "batches").iterdir())
        with pytest.warns(UserWarning, match=r"2 runs left out \(2 incomplete; 2 complete\)"):
            sweep = results.open_sweep(url)
        assert sorted(sweep.run_id.values) == sorted(done), "the partial runs must be left out"
        status = results.SweepStore(url).status()
        assert [status[r] for r in rids] == ["incomplete", "incomplete"], status
        sweep.compute()  # the complete runs read back whole
    else:
        # Renamed into place means complete, even without the done marker.
        status = results.SweepStore(url).status()
        assert [status[r] for r in rids] == ["done", "done"], status

    wrote = write_synthetic_runs(url, [6, 7], batch_size=2, **BIG)  # the rerun (what `takeoff -m` again does)
    assert wrote == rids
    assert results.SweepStore(url).status() == dict.fromkeys([*done, *rids], "done")
    write_synthetic_runs(clean, [0, 1])
    write_synthetic_runs(clean, [6, 7], batch_size=2, **BIG)
    assert_sweeps_equal(_open(url), _open(clean))
    assert _chunk_files(url) == _chunk_files(clean), \
        "the rerun batch must be bit-identical to an uninterrupted write"
