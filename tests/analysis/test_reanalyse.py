"""``takeoff-report --reanalyse``: the jobs' analysis again from the trajectories, on a Dask cluster."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from distributed import LocalCluster

import results
from analysis.cli import main
from analysis.reanalyse import reanalyse
from analysis.report import write_report
from analysis.stored import fresh_runs
from analysis.world import CATEGORICAL, WORLD_COLUMNS
from results import schema
from results.sweep import open_group
from results.testing import write_synthetic_runs

#: The digest of analysis code that is not this code's.
OLD_DIGEST = "0123456789abcdef"


@pytest.fixture(scope="module")
def stored_report(sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the report of ``sweep`` from the analysis its jobs stored."""
    out = tmp_path_factory.mktemp("stored-report")
    assert main([str(sweep), "--out", str(out), "--quiet"]) == 0
    return out


def _assert_analysis_equal(mine: xr.Dataset, stored: xr.Dataset) -> None:
    """Every value of the jobs' stored analysis, bit for bit (NaN where NaN)."""
    assert mine["run_id"].values.tolist() == stored["run_id"].values.tolist()
    names = [str(n) for n in stored.data_vars]
    assert sorted(str(n) for n in mine.data_vars) == sorted(names)
    for name in names:
        a, b = mine[name].values, stored[name].values
        assert a.shape == b.shape, name
        if name in CATEGORICAL:
            assert a.astype(str).tolist() == b.astype(str).tolist(), name
        else:
            np.testing.assert_array_equal(a.astype(np.float64), b.astype(np.float64), err_msg=name)


def test_reanalysis_is_the_jobs_analysis_bit_for_bit(sweep: Path, stored_report: Path,
                                                     tmp_path: Path) -> None:
    ds = results.open_sweep(sweep)
    store = results.SweepStore(sweep, create=False)
    done = reanalyse(store, ds["run_id"].values.astype(str).tolist(), None, min_effect=0.01)
    assert not done.damaged
    _assert_analysis_equal(done.dataset(ds), results.open_analysis(sweep).compute())
    # The path of before (every run analysed from its trajectories in this process, run by run)
    # gives the same summary.csv as the stored analysis; --reanalyse's is compared with it in
    # test_stored_analysis (on a LocalCluster) and below (a stale store).
    write_report(ds, tmp_path / "serial", analysis=None)
    assert (tmp_path / "serial" / "summary.csv").read_bytes() == (stored_report / "summary.csv").read_bytes()


def _write_stale_copy(sweep: Path, stale: Path) -> None:
    """Write the runs of ``sweep`` into a new store through its writer, with the analysis of other code.

    The stale analysis is wrong as well (another regime, other numbers), so a report that read it
    would differ.
    """
    store = results.SweepStore(sweep, create=False)
    copy = results.SweepStore(stale)
    for entry in store.index().values():
        ds = open_group(store, entry["group"]).load()
        records = []
        for i, rid in enumerate(ds["run_id"].values.astype(str).tolist()):
            k = entry["runs"]["run_id"].index(rid)
            data = ds.isel(run=i).drop_vars("run_id")
            data.attrs = {}
            seeds = data.sizes["seed"]
            analysis = xr.Dataset({name: ("seed", np.full(seeds, "stale") if name in CATEGORICAL
                                          else np.full(seeds, 7.0)) for name in WORLD_COLUMNS})
            curves = xr.Dataset({f"{schema.ABILITY}{m}": ("cycle", np.ones(data.sizes["cycle"], np.float32))
                                 for m in ("_mean", "_sd", "_n")})
            records.append(results.RunRecord(
                rid, data, params=entry["runs"]["params"][k], overrides=tuple(entry["runs"]["overrides"][k]),
                config=json.loads(entry["runs"]["config"][k]), analysis=analysis, curves=curves,
                info={"analysis_digest": OLD_DIGEST}))
        copy.write_batch(records)


@pytest.mark.slow
def test_a_stale_store_is_analysed_again_in_full(sweep: Path, stored_report: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "stale.zarr"
    _write_stale_copy(sweep, stale)
    assert not fresh_runs(results.open_sweep(stale), results.open_analysis(stale)).any()
    # On the workers of a scheduler that runs already (--address), here a LocalCluster of one process.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"}) as cluster:
        address = cluster.scheduler_address
        code = main([str(stale), "--out", str(tmp_path / "report"), "--quiet", "--reanalyse",
                     "--address", address])
        assert len(cluster.scheduler_info["workers"]) == 1  # its workers are its own still
    said = capsys.readouterr().out
    assert code == 0, said
    assert ("--reanalyse: every run analysed again from its trajectories, "
            f"4 runs on the scheduler at {address} (1 worker)") in said, said
    assert "hold no analysis by the current analysis code" not in said, said
    assert (tmp_path / "report" / "summary.csv").read_bytes() == (stored_report / "summary.csv").read_bytes()


def _damaged_store(url: Path) -> tuple[list[str], str]:
    """Write 4 synthetic runs (a batch group each) and zero the trajectory shards of one; return ids, it."""
    ids = write_synthetic_runs(url, range(4))
    store = results.SweepStore(url, create=False)
    bad = ids[1]
    group = store.index()[store.locations()[bad][0]]["group"]
    shards = [p for p in (url / "batches" / group).glob("trajectory-*/c*") if p.is_file()]
    assert shards
    for shard in shards:  # the same size: only zarr's crc32c finds it, when it is read
        shard.write_bytes(b"\0" * shard.stat().st_size)
    return ids, bad


def test_a_damaged_run_is_named_and_the_others_analysed(tmp_path: Path) -> None:
    ids, bad = _damaged_store(tmp_path / "s.zarr")
    store = results.SweepStore(tmp_path / "s.zarr", create=False)
    done = reanalyse(store, sorted(ids), None, min_effect=0.01)
    assert list(done.damaged) == [bad] and "failed" in done.damaged[bad], done.damaged
    ds = results.open_sweep(tmp_path / "s.zarr", exclude=[bad])
    analysis = done.dataset(ds)
    assert fresh_runs(ds, analysis).all()
    assert (analysis["regime"].values != "").all()
    # The same sweep opened again without a further run (as a report does when it finds one damaged).
    fewer = results.open_sweep(tmp_path / "s.zarr", exclude=[bad, ids[2]])
    kept = [r != ids[2] for r in ds["run_id"].values]
    xr.testing.assert_identical(done.dataset(fewer), analysis.isel(run=kept))


@pytest.mark.slow
def test_a_run_found_damaged_is_left_out_and_recorded(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = tmp_path / "s.zarr"
    ids, bad = _damaged_store(url)
    code = main([str(url), "--out", str(tmp_path / "report"), "--quiet", "--reanalyse", "--cluster", "sync"])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert f"run {bad}" in said.err and "damaged" in said.err, said.err
    assert "3 runs analysed; 1 left out: 1 damaged." in said.out, said.out
    assert "3 runs on this process" in said.out, said.out
    summary = pd.read_csv(tmp_path / "report" / "summary.csv")
    assert sorted(set(summary["run_id"])) == sorted(set(ids) - {bad})
    assert set(results.SweepStore(url, create=False).recorded_damage()) == {bad}  # a rerun recomputes it


@pytest.mark.slow
def test_an_unreachable_scheduler_fails_in_one_line_within_the_connect_timeout(
        sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import distributed  # noqa: F401  (imported before the clock starts: the timeout is what is timed)

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    assert main([str(sweep), "--out", str(tmp_path / "x"), "--reanalyse", "--n-workers", "-1"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "takeoff-report: --n-workers -1: give a number of worker processes (0: one per core)"]
    start = time.monotonic()
    code = main([str(sweep), "--out", str(tmp_path / "out"), "--reanalyse", "--address", address,
                 "--connect-timeout", "2"])
    elapsed = time.monotonic() - start
    said = capsys.readouterr()
    assert code == 2, said.err
    assert said.err.splitlines() == [
        f"takeoff-report: --address {address} is unreachable: no Dask scheduler answered within 2 s "
        "(--connect-timeout); check the address, or leave it out to start a LocalCluster"], said.err
    assert not (tmp_path / "out" / "summary.csv").exists()
    # Opening the store and the attempt: seconds, not Dask's default of 30 s to connect.
    assert elapsed < 2 + 8, f"took {elapsed:.1f} s"
