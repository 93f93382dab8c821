"""Batched jobs and claims through the ``takeoff`` command, as a user's shell runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

import results
from tests.harness.conftest import SMALL, explain, popen_takeoff, takeoff


def _data(path: Path) -> xr.Dataset:
    ds = results.open_sweep(path).load()
    ds.attrs = {}
    return ds


def _analysis(path: Path) -> xr.Dataset:
    ds = results.open_analysis(path).load()
    ds.attrs = {}
    return ds


def _groups(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "batches").iterdir())


def test_results_do_not_depend_on_the_batch_size(workdir: Path) -> None:
    sweep = ["-m", *SMALL, "seed=range(0,4)"]
    one = takeoff(*sweep, "hydra.launcher.cluster=sync", "hydra.launcher.batch_size=1",
                  f"hydra.sweep.dir={workdir}/one", cwd=workdir)
    three = takeoff(*sweep, "hydra.launcher.n_workers=2", "hydra.launcher.batch_size=3",
                    f"hydra.sweep.dir={workdir}/three", cwd=workdir)
    for done in (one, three):
        assert done.returncode == 0, explain(done)
    stores = {name: workdir / name / "results.zarr" for name in ("one", "three")}
    assert len(_groups(stores["one"])) == 4, _groups(stores["one"])
    assert len(_groups(stores["three"])) == 2, _groups(stores["three"])
    reference = _data(stores["one"])
    assert reference.sizes["run"] == 4
    xr.testing.assert_identical(_data(stores["three"]), reference)
    analysis = _analysis(stores["one"])
    xr.testing.assert_identical(_analysis(stores["three"]), analysis)
    assert set(analysis.data_vars) >= {"regime", "final_score", "ability_mean"}, \
        "the analysis and the curve means are written with the run"
    assert set(analysis["regime"].values.ravel()) - {""}, "every world has a regime"


@pytest.mark.slow
def test_two_sweeps_started_at_once_compute_each_run_once(workdir: Path) -> None:
    args = ["-m", *SMALL, "seed=range(0,6)", "hydra.launcher.cluster=sync",
            f"hydra.sweep.dir={workdir}/shared"]
    first, second = popen_takeoff(*args, cwd=workdir), popen_takeoff(*args, cwd=workdir)
    outputs = [proc.communicate(timeout=600) for proc in (first, second)]
    for proc, (out, err) in zip((first, second), outputs, strict=True):
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
    computed = sum(log.read_text().count("done in") for log in (workdir / "shared").glob("job-logs/*.log"))
    assert computed == 6, f"{computed} computations of 6 runs:\n{outputs}"
    assert any("held by another live sweep" in out for out, _ in outputs), outputs
    store = workdir / "shared" / "results.zarr"
    assert not [p for p in (store / "batches").iterdir() if p.name.startswith(".tmp-")]
    assert not [p for p in (store / "claims").iterdir() if p.suffix == ".json"], "claims outlived the sweeps"
    alone = takeoff(*args[:-1], f"hydra.sweep.dir={workdir}/alone", cwd=workdir)
    assert alone.returncode == 0, explain(alone)
    xr.testing.assert_identical(_data(store), _data(workdir / "alone" / "results.zarr"))
    assert set(results.SweepStore(store).status().values()) == {"done"}
