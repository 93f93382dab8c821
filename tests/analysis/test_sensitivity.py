"""Designs through the command line: known Sobol indices, the phase boundary by PRIM, Morris, holes.

On the deterministic preset (``theta0 = 0``) a run blows up at ``t* = 1 / (k (r - 1))``,
so its outputs are known functions of ``k = loop.propose.rate`` and
``r = loop.propose.returns``; ``loop.evaluate.noise`` changes nothing there
(the bare loop has no evaluator): an irrelevant parameter.
"""

from __future__ import annotations

import math
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from SALib.analyze import sobol

from analysis import sensitivity
from harness.design import methods

BIN = Path(sys.executable).parent
SYNC = ["hydra.launcher.cluster=sync"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=1800)


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def sweep_and_report(root: Path, name: str, *overrides: str, report: tuple[str, ...] = ()) -> Path:
    ok(run("takeoff", "-m", "+experiment=deterministic", *overrides, *SYNC, f"hydra.sweep.dir={root}/{name}",
           cwd=root))
    ok(run("takeoff-report", f"{root}/{name}/results.zarr", "--out", f"{root}/{name}/report", "--quiet",
           *report, cwd=root))
    return root / name / "report"


def inverse_moments(a: float, b: float) -> tuple[float, float]:
    """E[1/x] and E[1/x^2] for x uniform on [a, b]."""
    return math.log(b / a) / (b - a), 1.0 / (a * b)


def sobol_indices(k_lo: float, k_hi: float, r_lo: float, r_hi: float) -> dict[str, tuple[float, float]]:
    """S1 and ST of t* = f(k) g(r), f = 1/k, g = 1/(r-1), k and r uniform: closed form from the moments."""
    f1, f2 = inverse_moments(k_lo, k_hi)
    g1, g2 = inverse_moments(r_lo - 1, r_hi - 1)
    var = f2 * g2 - (f1 * g1) ** 2
    v_k, v_r = (f2 - f1**2) * g1**2, (g2 - g1**2) * f1**2
    return {"loop.propose.rate": (v_k / var, 1 - v_r / var),
            "loop.propose.returns": (v_r / var, 1 - v_k / var)}


@pytest.mark.slow
def test_saltelli_recovers_the_known_sobol_indices_of_the_blowup_cycle(tmp_path: Path) -> None:
    """t* = f(k) g(r): every S1 and ST within half the interaction (ST - S1) of its closed form.

    The ranges make the two parameters unequal (truth: S1 0.314 and 0.555, ST 0.445 and
    0.686), so swapped parameters fail as well as swapped S1 and ST (0.131 apart; the
    parameters' S1 are 0.241 apart). The issue's n = 512 base samples (2048 runs); n = 256
    is the smallest power of two where the error stays below half the gap (0.065): over 16
    design seeds, computed on t* itself, the largest error was 0.052 at n = 256 and 0.14 at
    n = 128. Measured through takeoff at n = 256 (design seed 0, blowup_cycle within 1.2e-6
    of t*): S1 0.263 / 0.575, ST 0.423 / 0.689, largest error 0.051; at n = 512: S1 0.305 /
    0.544, ST 0.444 / 0.695, largest error 0.011 (372 s of CPU, alone). SALib's bootstrap
    half-widths (0.11 to 0.20 at n = 256, 0.08 to 0.14 at n = 512) are wider than the gap:
    they are checked to be reported, not relied on to separate the answers.
    """
    k_lo, k_hi, r_lo, r_hi = 0.06, 0.3, 1.1, 1.8
    cycles = 190
    assert 1 / (k_lo * (r_lo - 1)) < cycles - 10  # every world blows up within the run
    n = 512
    report = sweep_and_report(
        tmp_path, "saltelli", f"cycles={cycles}", "hydra/sweeper=design", "hydra.sweeper.method=saltelli",
        f"hydra.sweeper.n={n}", f"loop.propose.rate=interval({k_lo},{k_hi})",
        f"loop.propose.returns=interval({r_lo},{r_hi})")
    expected = sobol_indices(k_lo, k_hi, r_lo, r_hi)
    gap = min(st - s1 for s1, st in expected.values())  # the interaction: S1 and ST differ by it
    assert gap > 0.1
    rate, returns = expected["loop.propose.rate"], expected["loop.propose.returns"]
    assert returns[0] - rate[0] > gap  # and the parameters differ by more

    table = pd.read_csv(report / "sensitivity.csv")
    assert list(table.columns[:6]) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    blowup = table[table["output"] == "blowup_cycle"].set_index("parameter")
    for key, (s1, st) in expected.items():
        assert abs(blowup.at[key, "S1"] - s1) < gap / 2, (key, blowup.loc[key].to_dict(), s1)
        assert abs(blowup.at[key, "ST"] - st) < gap / 2, (key, blowup.loc[key].to_dict(), st)
        assert 0 < blowup.at[key, "S1_conf"] < 0.3 and 0 < blowup.at[key, "ST_conf"] < 0.3
    assert (blowup["blocks"] == n).all() and (blowup["blocks_left_out"] == 0).all()
    assert (report / "sensitivity.png").stat().st_size > 10_000
    runs = pd.read_csv(report / "design_runs.csv")
    assert len(runs) == n * 4 and runs["blowup_cycle"].notna().all()


@pytest.mark.slow
def test_prim_finds_the_phase_boundary_and_leaves_the_irrelevant_parameter_alone(tmp_path: Path) -> None:
    common = ["cycles=60", "loop.propose.rate=0.2"]
    grid = sweep_and_report(tmp_path, "grid", *common, "loop.propose.returns=range(0.9,1.3,0.02)")
    summary = pd.read_csv(grid / "summary.csv")
    takeoff = summary.loc[summary["regime"] == "takeoff", "loop.propose.returns"]
    r_grid = float(takeoff.min())
    assert 0.95 < r_grid < 1.25, r_grid  # the boundary lies inside the design's range
    assert (summary.loc[summary["loop.propose.returns"] > r_grid + 1e-9, "regime"] == "takeoff").all()

    report = sweep_and_report(tmp_path, "design", *common, "hydra/sweeper=design",
                              "hydra.sweeper.method=sobol", "hydra.sweeper.n=64",
                              "loop.propose.returns=interval(0.9,1.3)", "loop.evaluate.noise=interval(0,1)")
    boxes = pd.read_csv(report / "scenarios.csv")
    assert list(boxes.columns[:7]) == ["box", "coverage", "density", "parameter", "low", "high", "values"]
    first = boxes[boxes["box"] == 1].set_index("parameter")
    assert abs(first.at["loop.propose.returns", "low"] - r_grid) < 0.05, (first, r_grid)
    assert bool(first.at["loop.propose.returns", "restricted"])
    assert not bool(first.at["loop.evaluate.noise", "restricted"])
    assert (first.at["loop.evaluate.noise", "low"], first.at["loop.evaluate.noise", "high"]) == (0, 1)
    assert first["density"].iat[0] > 0.9 and first["coverage"].iat[0] > 0.9
    assert not (report / "sensitivity.csv").exists()  # a sobol design gives no indices
    # censored outputs: a world where the event never happens counts at cycles (60), so nothing is NaN
    runs = pd.read_csv(report / "design_runs.csv")
    assert runs[list(sensitivity.OUTPUTS)].notna().all().all()
    below = runs[runs["loop.propose.returns"] < 1]
    assert len(below) > 0 and (below["blowup_cycle"] == 60).all() and (below["p_takeoff"] == 0).all()
    assert (runs["guard_bypass_cycle"] == 60).all()  # the deterministic preset has no guard to bypass
    assert (report / "scenarios.png").stat().st_size > 10_000
    page = (report / "report.html").read_text()
    assert "scenarios.png" in page and "Scenario p_takeoff &gt;= 0.5" in page


@pytest.mark.slow
def test_morris_ranks_the_irrelevant_parameter_last(tmp_path: Path) -> None:
    report = sweep_and_report(tmp_path, "morris", "cycles=60", "hydra/sweeper=design",
                              "hydra.sweeper.method=morris", "hydra.sweeper.n=8",
                              "loop.propose.rate=interval(0.1,0.3)", "loop.propose.returns=interval(1.1,1.5)",
                              "loop.evaluate.noise=interval(0,1)")
    table = pd.read_csv(report / "sensitivity.csv")
    assert list(table.columns[:5]) == ["output", "parameter", "mu_star", "mu_star_conf", "sigma"]
    for output in ("blowup_cycle", "final_ability"):
        part = table[table["output"] == output].sort_values("mu_star", ascending=False)
        assert list(part["parameter"])[-1] == "loop.evaluate.noise", part
        assert part["mu_star"].iloc[-1] < 0.01 * part["mu_star"].iloc[0]
    assert (table["blocks"] == 8).all()


@pytest.mark.slow
def test_failed_runs_leave_out_whole_blocks_and_the_report_says_how_to_fill_them(tmp_path: Path) -> None:
    """Half the runs fail (an injected fault is a design parameter): blocks with a hole are left out."""
    overrides = ["cycles=20", "hydra/sweeper=design", "hydra.sweeper.method=saltelli", "hydra.sweeper.n=4",
                 "loop.propose.rate=interval(0.1,0.3)", "fault.raise_in_job=choice(false,true)",
                 "loop.propose.sigma=0.0,0.1"]
    root = tmp_path
    failed = run("takeoff", "-m", "+experiment=deterministic", *overrides, *SYNC, f"hydra.sweep.dir={root}/s",
                 cwd=root)
    assert failed.returncode == 1, failed.stderr[-2000:]  # failures are reported, the sweep went on
    report = run("takeoff-report", f"{root}/s/results.zarr", "--out", f"{root}/r", "--quiet", cwd=root)
    ok(report)
    table = pd.read_csv(root / "r" / "sensitivity.csv")
    assert list(table.columns[:3]) == ["loop.propose.sigma", "output", "parameter"]
    assert set(table["loop.propose.sigma"]) == {0.0, 0.1}
    blocks = table.groupby("loop.propose.sigma")[["blocks", "blocks_left_out"]].first()
    assert (blocks.sum(axis=1) == 4).all() and (blocks["blocks_left_out"] > 0).all()
    runs = pd.read_csv(root / "r" / "design_runs.csv")
    assert (runs["run_id"].isna() == (runs["fault.raise_in_job"].astype(str).str.lower() == "true")).all()
    assert "incomplete Saltelli blocks left out" in report.stdout
    fill = next(line for line in report.stdout.splitlines() if line.startswith("Fill them"))
    command = fill.split(": ", 1)[1]
    words = shlex.split(command)
    assert words[:2] == ["takeoff", "-m"] and f"store={root}/s/results.zarr" in words
    again = run(*words, cwd=root)  # the printed command resumes the same design in the same store
    assert again.returncode == 1
    done = int(runs["run_id"].notna().sum())
    assert f"already complete in {root}/s/results.zarr" in again.stdout
    assert f", {done} already complete" in again.stdout or f" {len(set(runs['run_id'].dropna()))} already" \
        in again.stdout
    # the filled store still has its design: the report reads it again
    assert np.isfinite(table["S1"]).any() or table["S1"].isna().all()


def test_bad_scenario_is_refused_before_any_work(tmp_path: Path) -> None:
    done = run("takeoff-report", str(tmp_path / "nothing.zarr"), "--scenario", "p_takeof > 1", cwd=tmp_path)
    assert done.returncode == 2
    assert "p_takeof" in done.stderr and "p_takeoff" in done.stderr and "Traceback" not in done.stderr


def test_a_hole_leaves_out_its_saltelli_block_only_and_the_rest_give_the_indices() -> None:
    """Four runs missing in three blocks: those blocks are left out and counted, the others analysed."""
    n, k_lo, k_hi, r_lo, r_hi = 256, 0.06, 0.3, 1.1, 1.8  # computed here, not simulated: no run time
    rows = methods.sample("saltelli", n, 2, seed=0)
    k, r = k_lo + rows[:, 0] * (k_hi - k_lo), r_lo + rows[:, 1] * (r_hi - r_lo)
    t_star = 1 / (k * (r - 1))
    ranges = (("loop.propose.rate", k_lo, k_hi), ("loop.propose.returns", r_lo, r_hi))
    params = [{"key": key, "kind": "uniform", "low": lo, "high": hi, "values": [],
               "text": f"interval({lo},{hi})"} for key, lo, hi in ranges]
    design = sensitivity.Design({"method": "saltelli", "n": n, "seed": 0, "block": 4, "parameters": params,
                                 "cells": [[]], "grid_keys": [], "rows": rows.tolist()})
    outputs = {name: 1.0 for name in sensitivity.OUTPUTS} | {"blowup_cycle": t_star}
    table = pd.DataFrame({"cell": 0, "row": np.arange(len(rows)),
                          "run_id": [f"r{i}" for i in range(len(rows))], **outputs})
    holes = [5, 6, 41, 130]  # rows of blocks 1, 1, 10 and 32
    table.loc[holes, "run_id"] = ""  # as design_table leaves a run not done: no id, no outputs
    table.loc[holes, list(sensitivity.OUTPUTS)] = math.nan
    frame = sensitivity.indices(design, table).set_index(["output", "parameter"])
    blowup = frame.loc["blowup_cycle"]
    assert (blowup["blocks"] == n - 3).all() and (blowup["blocks_left_out"] == 3).all()
    kept = np.repeat(~np.isin(np.arange(n), [1, 10, 32]), 4)
    oracle = sobol.analyze({"num_vars": 2, "names": ["k", "r"], "bounds": [[0, 1]] * 2}, t_star[kept],
                           calc_second_order=False, seed=0)
    assert np.allclose(blowup["S1"].to_numpy(), oracle["S1"])
    assert np.allclose(blowup["ST"].to_numpy(), oracle["ST"])
    truth = sobol_indices(k_lo, k_hi, r_lo, r_hi)
    for key, (s1, st) in truth.items():  # the 253 blocks left still give the closed forms
        assert abs(blowup.at[key, "S1"] - s1) < 0.1 and abs(blowup.at[key, "ST"] - st) < 0.1, blowup
    assert frame.loc["p_takeoff", "S1"].isna().all()  # a constant output gets no indices
