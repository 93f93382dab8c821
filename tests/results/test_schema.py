import numpy as np
import pytest
import xarray as xr

import results
from loops.record import Trajectory
from results import schema
from results.testing import assert_schema, synthetic_run


def test_schema_names_are_the_simulator_record_names():
    assert tuple(schema.VARIABLES) == Trajectory.variable_names(), (
        "results.schema.VARIABLES and loops.record.Trajectory disagree: "
        f"only in schema {sorted(set(schema.VARIABLES) - set(Trajectory.variable_names()))}, "
        f"only in record {sorted(set(Trajectory.variable_names()) - set(schema.VARIABLES))}")


def test_name_constants_match_table():
    for name in schema.VARIABLES:
        assert getattr(schema, name.upper()) == name, f"schema.{name.upper()} should be {name!r}"


@pytest.mark.parametrize("name", list(schema.VARIABLES))
def test_every_variable_has_attrs_and_dtype(name):
    var = schema.VARIABLES[name]
    assert var.long_name and var.units, f"{name} lacks long_name/units"
    assert var.dtype == "float32" or name == schema.DIVERGED_CYCLE, f"{name} is {var.dtype}, want float32"
    da = synthetic_run(0)[name]
    assert da.attrs == {"long_name": var.long_name, "units": var.units}
    assert da.dtype == np.dtype(var.dtype)


def _arrays():
    ds = synthetic_run(1)
    return {n: ds[n].values.copy() for n in schema.VARIABLES}, ds


def test_run_dataset_rejects_missing_and_extra_variables():
    arrays, ds = _arrays()
    del arrays[schema.SCORE]
    arrays["bogus"] = arrays[schema.SPAWNS]
    with pytest.raises(results.SchemaError, match=r"missing \['score'\], unexpected \['bogus'\]"):
        results.run_dataset(arrays, seed=ds.seed.values, cycle=ds.cycle.values, domain=list(ds.domain.values))


def test_validate_rejects_infinity():
    arrays, ds = _arrays()
    arrays[schema.ABILITY][0, 3, 0] = np.inf
    with pytest.raises(results.SchemaError, match="'ability' holds infinity"):
        results.run_dataset(arrays, seed=ds.seed.values, cycle=ds.cycle.values, domain=list(ds.domain.values))


def test_validate_names_wrong_dims_and_dtype():
    ds = synthetic_run(2)
    with pytest.raises(results.SchemaError, match="'score' has dims"):
        results.validate(ds.assign(score=ds.score.transpose("cycle", "seed", "domain")))
    with pytest.raises(results.SchemaError, match="'spawns' has dtype float64"):
        results.validate(ds.assign(spawns=ds.spawns.astype("float64")))
    with pytest.raises(AssertionError, match="lacks the 'units' attribute"):
        bad = ds.copy()
        bad["crashed"].attrs = {"long_name": "x"}
        assert_schema(bad)


def test_validate_requires_increasing_cycles():
    ds = synthetic_run(2)
    with pytest.raises(results.SchemaError, match="increase strictly"):
        results.validate(ds.isel(cycle=slice(None, None, -1)))


def test_run_dataset_requires_increasing_cycles():
    # run_dataset checks a run's values without validating the Dataset it builds again.
    arrays, ds = _arrays()
    with pytest.raises(results.SchemaError, match="increase strictly"):
        results.run_dataset(arrays, seed=ds.seed.values, cycle=ds.cycle.values[::-1],
                            domain=list(ds.domain.values))


def test_run_dataset_names_a_variable_of_the_wrong_shape():
    arrays, ds = _arrays()
    arrays[schema.INSTANCES] = arrays[schema.INSTANCES][:, :-1]
    with pytest.raises(results.SchemaError, match=r"'instances' has shape \(\d+, \d+\); expected"):
        results.run_dataset(arrays, seed=ds.seed.values, cycle=ds.cycle.values, domain=list(ds.domain.values))


def test_runs_built_from_one_template_share_nothing_they_could_change():
    # run_dataset copies a cached Dataset per coordinates: a change to one run's attributes or
    # values must not reach another run, nor a run built later.
    arrays, ds = _arrays()
    coords = dict(seed=ds.seed.values, cycle=ds.cycle.values, domain=list(ds.domain.values))
    one = results.run_dataset(arrays, **coords)
    assert one.identical(ds)
    two = results.run_dataset({k: v + 1 if v.dtype.kind == "f" else v for k, v in arrays.items()}, **coords)
    one[schema.SCORE].attrs["units"] = "changed"
    one[schema.CYCLE].attrs["units"] = "changed"
    one.attrs["note"] = "changed"
    later = results.run_dataset(arrays, **coords)
    for ds_ in (two, later):
        assert ds_[schema.SCORE].attrs["units"] == schema.VARIABLES[schema.SCORE].units
        assert ds_[schema.CYCLE].attrs["units"] == schema.COORDS[schema.CYCLE]["units"]
        assert "note" not in ds_.attrs
    assert two[schema.SCORE].values[0, 0, 0] == ds[schema.SCORE].values[0, 0, 0] + np.float32(1)
    assert later.identical(ds)


def test_run_dataset_is_the_dataset_xarrays_public_constructor_builds():
    # run_dataset builds with xarray's direct (internal) constructor: its result must be what
    # xarray's public constructor makes of the same values, indexes included.
    arrays, ds = _arrays()
    names = (schema.SEED, schema.CYCLE, schema.DOMAIN)
    public = xr.Dataset({n: (v.dims, arrays[n], {"long_name": v.long_name, "units": v.units})
                         for n, v in schema.VARIABLES.items()},
                        coords={c: (c, ds[c].values, schema.COORDS[c]) for c in names})
    built = results.run_dataset(arrays, seed=ds.seed.values, cycle=ds.cycle.values,
                                domain=list(ds.domain.values))
    xr.testing.assert_identical(built, public)
    assert dict(built.sizes) == dict(public.sizes)
    assert set(built.xindexes) == set(public.xindexes) == set(names)
    for c in names:
        assert built.indexes[c].equals(public.indexes[c])
    cycle = int(ds.cycle.values[3])
    xr.testing.assert_identical(built.sel(cycle=cycle, domain="math"), public.sel(cycle=cycle, domain="math"))
    xr.testing.assert_identical(built.mean("seed"), public.mean("seed"))
