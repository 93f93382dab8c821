"""``analyse_worlds``: one run's per-world analysis, as a job computes it after simulating."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import results
from analysis.world import CATEGORICAL, WORLD_COLUMNS, analyse_worlds, analysis_digest
from harness.suites import build_suite
from loops import simulate
from tests.loops.conftest import compose


def run_of(*overrides: str, seeds: int | None = None) -> tuple[xr.Dataset, dict[str, object]]:
    run = compose(*overrides)
    n = run.seeds if seeds is None else seeds
    traj = simulate(run.world(), build_suite(run.tasks), cycles=run.cycles, run_seed=run.seed,
                    seed_indices=range(n))
    ds = results.run_dataset(traj.arrays(), seed=traj.seed, cycle=traj.cycle, domain=traj.domain)
    return ds, {"capacity": {"home": run.capacity.home}}


@pytest.mark.parametrize(("r", "expected"), [(0.5, "polynomial"), (1.0, "exponential"), (1.5, "takeoff")])
def test_deterministic_limit(r: float, expected: str) -> None:
    ds, config = run_of("+experiment=deterministic", f"loop.propose.returns={r}")
    out = analyse_worlds(ds, config)
    assert out["regime"].values.tolist() == [expected]
    if expected == "takeoff":
        assert abs(float(out["blowup_cycle"][0]) - 1 / (0.05 * 0.5)) <= 1e-3
        assert float(out["diverged_cycle"][0]) > 0
    else:
        assert np.isnan(out["blowup_cycle"].values).all()


def test_story_run_columns_and_types() -> None:
    ds, config = run_of("+experiment=story", seeds=4)
    out = analyse_worlds(ds, config)
    assert list(out.data_vars) == list(WORLD_COLUMNS)
    assert out.sizes == {"seed": 4}
    np.testing.assert_array_equal(out["seed"].values, ds["seed"].values)
    for name in WORLD_COLUMNS:
        kind = out[name].dtype.kind
        assert kind == ("U" if name in CATEGORICAL else "f"), (name, out[name].dtype)
    assert out.attrs["analysis_digest"] == analysis_digest()
    # The same run averaged over domains beforehand gives the same answers.
    reduced = ds.mean("domain").assign(diverged_cycle=ds["diverged_cycle"])
    xr.testing.assert_identical(analyse_worlds(reduced, config), out)
    # Each world alone gives the same row as in the batch.
    one = analyse_worlds(ds.isel(seed=[2]), config)
    xr.testing.assert_identical(one, out.isel(seed=[2]))


def test_digest_names_the_code() -> None:
    digest = analysis_digest()
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert analysis_digest() == digest


def test_stored_parts_are_the_public_builds() -> None:
    """What a job stores (built with xarray's direct constructor) equals xarray's public build."""
    from analysis.world import run_curves, stored_parts

    ds, config = run_of("+experiment=story", seeds=4)
    parts = stored_parts(ds, config)
    want = analyse_worlds(ds, config)
    want = want.drop_vars(list(want.coords))
    want.attrs = {}
    xr.testing.assert_identical(parts["analysis"], want)
    curves = run_curves(ds, config)
    public = xr.Dataset({name: (var.dims, var.values, var.attrs) for name, var in curves.data_vars.items()})
    xr.testing.assert_identical(curves, public)
    xr.testing.assert_identical(parts["curves"], public)
    assert parts["info"] == {"analysis_digest": analysis_digest()}
    # Consistent for xarray's own operations as a public build is.
    xr.testing.assert_identical(xr.concat([parts["curves"]] * 2, "run"), xr.concat([public] * 2, "run"))
    xr.testing.assert_identical(xr.concat([parts["analysis"]] * 2, "run"), xr.concat([want] * 2, "run"))
