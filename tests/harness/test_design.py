"""The design sweeper: ranges in Hydra's grammar, sizes, the jobs, the design in the store, bad input."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import zarr
from hydra.core.override_parser.overrides_parser import OverridesParser

import results
from harness.design import methods
from harness.design.plan import make_plan
from harness.design.space import Parameter
from loops.params import ConfigError
from tests.harness.conftest import BIN, explain, takeoff


def parse(*overrides: str) -> list[object]:
    return list(OverridesParser.create().parse_overrides(list(overrides)))


def test_values_follow_the_documented_maps() -> None:
    uniform = Parameter("k", "uniform", 0.8, 1.6, (), "interval(0.8,1.6)")
    log = Parameter("k", "log", 0.001, 0.1, (), "tag(log,interval(0.001,0.1))")
    integer = Parameter("k", "integer", 2, 4, (), "interval(2,4)")
    choice = Parameter("k", "choice", None, None, ("a", "b", "c"), "choice(a,b,c)")
    assert float(uniform.value(0.25)) == pytest.approx(1.0)
    assert float(log.value(0.5)) == pytest.approx(0.01)
    # floor(v), v uniform in [lo, hi + 1): each integer gets a third of the unit interval
    assert [integer.value(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 0.999, 1.0)] == \
        ["2", "2", "3", "3", "4", "4", "4"]
    # index floor(m u): each value a third; u = 1 (Morris's top level) is the last value
    assert [choice.value(u) for u in (0.0, 0.33, 0.34, 0.99, 1.0)] == ["a", "a", "b", "c", "c"]


def test_grid_and_design_are_told_apart_and_crossed() -> None:
    plan = make_plan(parse("+experiment=deterministic", "loop.propose.sigma=0.0,0.1",
                           "loop.propose.rate=interval(0.01,0.1)", "loop.guard.mode=choice(none,in_loop)",
                           "seeds=range(1,3)"), method="saltelli", n=8, seed=3)
    assert [p.key for p in plan.params] == ["loop.propose.rate", "loop.guard.mode"]
    assert plan.fixed == ("+experiment=deterministic",)
    assert len(plan.cells()) == 4  # sigma 2 x seeds 2
    jobs = plan.jobs()
    assert len(jobs) == 4 * 8 * (2 + 2)
    assert jobs[0][:3] == ["+experiment=deterministic", "loop.propose.sigma=0.0", "seeds=1"]
    rates = [float(j[3].split("=")[1]) for j in jobs]
    assert min(rates) >= 0.01 and max(rates) <= 0.1
    assert {j[4] for j in jobs} == {"loop.guard.mode=none", "loop.guard.mode=in_loop"}
    again = make_plan(parse("+experiment=deterministic", "loop.propose.sigma=0.0,0.1",
                            "loop.propose.rate=interval(0.01,0.1)", "loop.guard.mode=choice(none,in_loop)",
                            "seeds=range(1,3)"), method="saltelli", n=8, seed=3)
    assert again.jobs() == jobs  # the same command gives the same jobs: resume finds its runs


@pytest.mark.parametrize(("method", "n", "runs"), [("saltelli", 16, 16 * 5), ("morris", 6, 6 * 4),
                                                   ("lhs", 10, 10), ("sobol", 16, 16)])
def test_design_sizes(method: str, n: int, runs: int) -> None:
    rows = methods.sample(method, n, 3, seed=1)
    assert rows.shape == (runs, 3)
    assert rows.min() >= 0 and rows.max() <= 1
    assert np.array_equal(rows, methods.sample(method, n, 3, seed=1))
    assert not np.array_equal(rows, methods.sample(method, n, 3, seed=2))


@pytest.mark.parametrize(("overrides", "method", "n", "message"), [
    (["loop.propose.rate=interval(0.01,0.1)"], "saltelli", 100, "hydra.sweeper.n=100 is not a power of two"),
    (["loop.propose.rate=interval(0.01,0.1)"], "sobol", 48, "hydra.sweeper.n=48 is not a power of two"),
    (["loop.propose.rate=interval(0.01,0.1)"], "fast", 64, "hydra.sweeper.method='fast' is unknown"),
    (["loop.propose.returns=interval(0.5,3.5)"], "lhs", 8,
     "loop.propose.returns=3.5 is out of range; allowed: [0, 3] (1) (the upper end of "),
    (["loop.propose.rate=tag(log,interval(0,0.1))"], "lhs", 8, "a log interval needs 0 < lo < hi"),
    (["loop.propose.rate=interval(0.1,0.1)"], "lhs", 8, "is empty"),
    (["capacity.home=interval(1.5,8)"], "lhs", 8, "is an integer key; give integer ends"),
    (["capacity.home=interval(0,8)"], "lhs", 8, "capacity.home=0 is out of range"),
    (["loop.guard.mode=interval(0,1)"], "lhs", 8, "is not a numeric key"),
    (["loop.propose.rat=interval(0,1)"], "lhs", 8, "is no key of the run config"),
    (["loop.propose.sigma=choice(0.1,-1)"], "lhs", 8, "loop.propose.sigma=-1.0 is out of range"),
    (["loop.propose.sigma=0.1,0.2"], "lhs", 8, "needs at least one design parameter"),
])
def test_bad_designs_are_refused_with_the_keys_message(overrides: list[str], method: str, n: int,
                                                       message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        make_plan(parse(*overrides), method=method, n=n, seed=0)
    assert message in str(err.value), str(err.value)


def test_bad_range_exits_2_before_any_job_and_makes_no_store(workdir: Path) -> None:
    done = takeoff("-m", "+experiment=deterministic", "hydra/sweeper=design", "hydra.sweeper.method=lhs",
                   "hydra.sweeper.n=8", "loop.propose.returns=interval(0.5,3.5)",
                   "hydra.launcher.cluster=sync", f"hydra.sweep.dir={workdir}/sweep", cwd=workdir)
    assert done.returncode == 2, explain(done)
    assert "loop.propose.returns=3.5 is out of range; allowed: [0, 3]" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (workdir / "sweep" / "results.zarr").exists()


def test_design_sweep_records_its_design_and_resumes(workdir: Path) -> None:
    """A saltelli design crossed with a grid: the jobs, the store's design record, resume."""
    args = ["-m", "+experiment=deterministic", "cycles=12", "hydra/sweeper=design",
            "hydra.sweeper.method=saltelli", "hydra.sweeper.n=2", "hydra.sweeper.seed=7",
            "loop.propose.rate=interval(0.05,0.2)", "capacity.external=interval(0,3)",
            "loop.propose.sigma=0.0,0.1", "hydra.launcher.cluster=sync", f"hydra.sweep.dir={workdir}/sweep"]
    done = takeoff(*args, cwd=workdir)
    assert done.returncode == 0, explain(done)
    store = results.SweepStore(workdir / "sweep" / "results.zarr", create=False)
    design = store.design()
    assert design is not None
    assert (design["method"], design["n"], design["seed"], design["block"]) == ("saltelli", 2, 7, 4)
    assert [(p["key"], p["kind"], p["low"], p["high"]) for p in design["parameters"]] == \
        [("loop.propose.rate", "uniform", 0.05, 0.2), ("capacity.external", "integer", 0, 3)]
    assert design["grid_keys"] == ["loop.propose.sigma"]
    assert len(design["rows"]) == len(design["values"]) == 2 * 4
    assert "floor(m u)" in design["sampling"]
    ds = results.open_sweep(store.url)
    # an integer parameter repeats values across a Saltelli block: equal configs are one run
    distinct = {(tuple(cell), tuple(values)) for cell in design["cells"] for values in design["values"]}
    assert ds.sizes["run"] == len(distinct) > 4
    overrides = json.loads(ds.attrs["overrides"])
    rows = {tuple(v) for v in design["values"]}
    for ovr in overrides.values():
        assert tuple(ovr[-2:]) in rows
    external = ds["capacity.external"].values
    assert external.dtype.kind == "i" and set(external) <= {0, 1, 2, 3}
    rate = ds["loop.propose.rate"].values
    assert np.all((rate >= 0.05) & (rate <= 0.2))
    assert all(math.isfinite(float(r)) for r in design["rows"][0])

    # the design is the root group's attribute, read through zarr; no file of its own
    assert zarr.open_group(store.url, mode="r").attrs["design"] == design
    assert not (workdir / "sweep" / "results.zarr" / "design.json").exists()

    again = takeoff(*args, cwd=workdir)
    assert again.returncode == 0, explain(again)
    assert "16 jobs, 16 already complete" in again.stdout
    assert store.design() == design  # a resumed sweep keeps the design

    # another design on the same store is refused before any job, and changes nothing there
    done_before = store.done_runs()
    other = [a.replace("interval(0.05,0.2)", "interval(0.05,0.3)") for a in args]
    refused = takeoff(*other, cwd=workdir)
    assert refused.returncode == 2, explain(refused)
    line = refused.stderr.strip().splitlines()[0]
    assert "holds another design (saltelli, n=2, seed=7: loop.propose.rate=interval(0.05,0.2)" in line, line
    assert "differs in parameters (loop.propose.rate=interval(0.05,0.3)" in line
    assert "give it a new store= (or hydra.sweep.dir=) path, or rerun the stored design with: takeoff -m" \
        in line
    assert "no job was started" in refused.stderr and "Traceback" not in refused.stderr
    assert store.design() == design and store.done_runs() == done_before


def test_a_design_kept_in_design_json_by_the_previous_version_is_read_and_moved(workdir: Path) -> None:
    """A store whose design is in ``design.json`` (takeoff before the attributes): reported, then kept."""
    args = ["-m", "+experiment=deterministic", "cycles=12", "hydra/sweeper=design",
            "hydra.sweeper.method=lhs", "hydra.sweeper.n=4", "loop.propose.rate=interval(0.05,0.2)",
            "hydra.launcher.cluster=sync",
            f"hydra.sweep.dir={workdir}/sweep"]
    assert takeoff(*args, cwd=workdir).returncode == 0
    path = workdir / "sweep" / "results.zarr"
    root = zarr.open_group(str(path), mode="r+")
    design = dict(root.attrs["design"])
    del root.attrs["design"]  # the previous version's layout: the design in a file of its own
    (path / "design.json").write_text(json.dumps(design))
    assert "design" not in zarr.open_group(str(path), mode="r").attrs

    report = subprocess.run([str(BIN / "takeoff-report"), str(path), "--out", str(workdir / "report"),
                             "--quiet"], cwd=workdir, capture_output=True, text=True, timeout=600)
    assert report.returncode == 0, explain(report)
    runs = pd.read_csv(workdir / "report" / "design_runs.csv")
    assert len(runs) == 4 and runs["run_id"].notna().all()

    again = takeoff(*args, cwd=workdir)  # the same design: kept, and now in the attributes
    assert again.returncode == 0, explain(again)
    assert "4 jobs, 4 already complete" in again.stdout
    assert zarr.open_group(str(path), mode="r").attrs["design"] == design
